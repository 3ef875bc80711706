"""The monthly SLA statement as a PDF (reportlab): a running header, "page x of y", column
widths that fit A4 landscape, and every text a user typed escaped (Paragraph reads markup).

reportlab is imported inside the functions that draw: loading it costs every process (web,
worker, beat) start-up time and memory, and only a PDF download or the monthly mail needs it.
It ships no type information: its objects are Any here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _

from .statement import Statement, TicketLine, duration_text, moment_text

# A4 landscape is 297 mm wide; with 15 mm margins the tables get 267 mm. Column widths in mm:
# a date ("2026-03-02 10:00", 22.3 mm in 8 pt Helvetica, plus 4.2 mm of cell padding) fits
# its column on one line; subjects and breaches wrap inside theirs.
TICKET_COLUMNS_MM = (22, 62, 12, 28, 28, 22, 28, 22, 26)
CREDIT_COLUMNS_MM = (32, 95, 14, 26, 40, 40)
FIGURE_COLUMNS_MM = (40, 30, 40, 40, 40, 25)


def _text(value: object) -> str:
    """User text for a reportlab Paragraph, which reads markup: escape it."""
    return escape(str(value))


def render_pdf(statement: Statement) -> bytes:
    """A4 landscape PDF with the HTML page's sections, a header and "page x of y" on every
    page (reportlab)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=22 * mm,
        bottomMargin=16 * mm,
        title=_("SLA statement %(month)s") % {"month": f"{statement.month:%Y-%m}"},
        author=statement.organization.name,
    )
    decorate = _page_decorator(statement)
    doc.build(
        _story(statement),
        onFirstPage=decorate,
        onLaterPages=decorate,
        canvasmaker=_numbered_canvas(),
    )
    return buffer.getvalue()


def _page_decorator(statement: Statement) -> Callable[[Any, Any], None]:
    """The running header: organization, month, and a rule under them."""
    from reportlab.lib import colors
    from reportlab.lib.units import mm

    title = _("SLA statement — %(org)s") % {"org": statement.organization.name}
    month = _("Month: %(month)s (UTC)") % {"month": f"{statement.month:%Y-%m}"}

    def decorate(canvas: Any, doc: Any) -> None:
        width, height = doc.pagesize
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 9)
        canvas.drawString(doc.leftMargin, height - 12 * mm, title)
        canvas.setFont("Helvetica", 9)
        canvas.drawRightString(width - doc.rightMargin, height - 12 * mm, month)
        canvas.setStrokeColor(colors.HexColor("#b8c2d0"))
        rule = height - 14.5 * mm
        canvas.line(doc.leftMargin, rule, width - doc.rightMargin, rule)
        canvas.restoreState()

    return decorate


def _numbered_canvas() -> type[Any]:
    """A canvas that writes "Page x of y" once it knows y (pages are kept, then written)."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    label = _("Page %(page)d of %(pages)d")

    # reportlab ships no type information: Canvas is Any to the type checker.
    class NumberedCanvas(Canvas):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                width, _height = self._pagesize
                self.setFont("Helvetica", 8)
                text = label % {"page": self._pageNumber, "pages": total}
                self.drawRightString(width - 15 * mm, 8 * mm, text)
                super().showPage()
            super().save()

    return NumberedCanvas


def _styles() -> tuple[Any, Any]:
    from reportlab.lib import colors
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import TableStyle

    styles = getSampleStyleSheet()
    styles["BodyText"].fontSize = 8
    styles["BodyText"].leading = 10
    grid = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
            ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b8c2d0")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    return styles, grid


def _table(rows: list[list[Any]], widths_mm: tuple[int, ...], grid: Any, styles: Any) -> Any:
    """Header cells as Paragraphs so long French headers wrap inside their column."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Table

    header = _header_style(styles)
    rows = [[Paragraph(_text(cell), header) for cell in rows[0]], *rows[1:]]
    table = Table(rows, colWidths=[w * mm for w in widths_mm], repeatRows=1, hAlign="LEFT")
    table.setStyle(grid)
    return table


def _header_style(styles: Any) -> Any:
    from reportlab.lib.styles import ParagraphStyle

    return ParagraphStyle("th", parent=styles["BodyText"], fontName="Helvetica-Bold")


def _story(statement: Statement) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    styles, grid = _styles()
    a = statement.availability
    story = [
        Paragraph(
            _text(_("SLA statement — %(org)s") % {"org": statement.organization.name}),
            styles["Title"],
        ),
        Paragraph(
            _text(
                _("Month: %(month)s (UTC). Generated %(at)s UTC.")
                % {"month": a["month"], "at": moment_text(statement.generated_at)}
            ),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
        Paragraph(_("Availability"), styles["Heading2"]),
        _table(
            [
                [
                    _("Availability"),
                    _("Target"),
                    _("Downtime"),
                    _("Eligible time"),
                    _("Excluded time"),
                    _("Credits"),
                ],
                [
                    statement.percent_text,
                    statement.target_text,
                    statement.downtime_text,
                    statement.eligible_text,
                    statement.excluded_text,
                    str(a["credits"]),
                ],
            ],
            FIGURE_COLUMNS_MM,
            grid,
            styles,
        ),
        Spacer(1, 6 * mm),
        Paragraph(_("Tickets"), styles["Heading2"]),
        _tickets_table(statement, grid, styles),
        Spacer(1, 6 * mm),
        Paragraph(_("Service credits"), styles["Heading2"]),
        _credits_table(statement, grid, styles),
    ]
    return story


def _tickets_table(statement: Statement, grid: Any, styles: Any) -> Any:
    from reportlab.platypus import Paragraph

    if not statement.tickets:
        return Paragraph(_("No tickets."), styles["Normal"])
    rows = [
        [
            _("Reference"),
            _("Subject"),
            _("Priority"),
            _("Received"),
            _("Response due"),
            _("Response time"),
            _("Resolution due"),
            _("Resolution time"),
            _("Breaches"),
        ]
    ]
    for line in statement.tickets:
        t = line.ticket
        rows.append(
            [
                t.reference,
                Paragraph(_text(t.subject[:200]), styles["BodyText"]),
                t.priority,
                moment_text(t.received_at),
                moment_text(t.response_due_at),
                duration_text(line.response_time),
                moment_text(t.resolution_due_at),
                duration_text(line.resolution_time),
                Paragraph(_text(_breach_text(line)), styles["BodyText"]),
            ]
        )
    return _table(rows, TICKET_COLUMNS_MM, grid, styles)


def _credits_table(statement: Statement, grid: Any, styles: Any) -> Any:
    from reportlab.platypus import Paragraph

    if not statement.credits:
        return Paragraph(_("No credits earned."), styles["Normal"])
    rows = [[_("Kind"), _("For"), _("Days"), _("Status"), _("Breach"), _("Claim by")]]
    for credit in statement.credits:
        rows.append(
            [
                credit.get_kind_display(),
                Paragraph(_text(credit.subject), styles["BodyText"]),
                str(credit.days),
                credit.get_status_display(),
                moment_text(credit.breach_at),
                moment_text(credit.claim_deadline),
            ]
        )
    return _table(rows, CREDIT_COLUMNS_MM, grid, styles)


def _breach_text(line: TicketLine) -> str:
    parts = []
    if line.ticket.excluded:
        return _("excluded")
    if line.response_breached:
        parts.append(_("response"))
    if line.resolution_breached:
        parts.append(_("resolution"))
    return ", ".join(parts) or "—"
