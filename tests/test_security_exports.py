"""Spec 8: user text renders literally in the PDF statement and never as a spreadsheet
formula in a CSV export. Read back with pypdf and the csv module."""

import csv
import datetime
import io

import pypdf
import pytest
import time_machine

from accounts.models import Plan
from core.exports import safe_cell
from sla.availability import reports, statement, statement_pdf
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
UTC = datetime.UTC
HOSTILE = [
    "Tag <img src=x> not tracked",
    '<a href="javascript:alert(1)">x</a>',
    "<font size=40>big</font> & <b>bold",
    "Q&A: 5 < 6 > 4 &amp; &nbsp; done",
    '<img src="/etc/passwd"/>',
]


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    pages = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(pages.split())


def test_hostile_subjects_render_literally_in_the_pdf_statement(org):
    org.name = "Acme <b>& Co"
    org.save()
    for n, subject in enumerate(HOSTILE):
        received = datetime.datetime(2026, 3, 2 + n, 10, tzinfo=UTC)
        TicketFactory(organization=org, subject=subject, received_at=received)
    with time_machine.travel(datetime.datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        built = statement.build(org, datetime.date(2026, 3, 1))
        data = statement_pdf.render_pdf(built)
    text = _pdf_text(data)
    assert "Acme <b>& Co" in text
    for subject in HOSTILE:
        assert " ".join(subject.split()) in text, subject
    assert b"/URI" not in data and b"javascript" not in data.lower().replace(b"alert", b"")


def test_the_statement_page_serves_the_pdf_with_a_hostile_subject(client, alice, org):
    TicketFactory(
        organization=org,
        subject=HOSTILE[0],
        received_at=datetime.datetime(2026, 3, 2, tzinfo=UTC),
    )
    client.force_login(alice)
    with time_machine.travel(datetime.datetime(2026, 4, 20, tzinfo=UTC), tick=False):
        response = client.get("/statements/2026-03.pdf")
    assert response.status_code == 200
    assert HOSTILE[0] in _pdf_text(response.content)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_a_spreadsheet_would_evaluate_gets_a_leading_quote(start):
    assert safe_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


def test_plain_text_and_numbers_are_left_alone():
    assert [safe_cell(v) for v in ("Platinum", "a=b", 3, -2.5, "")] == [
        "Platinum",
        "a=b",
        3,
        -2.5,
        "",
    ]


def test_the_compliance_csv_neutralises_a_formula_in_a_plan_name(client, org, django_user_model):
    Plan.objects.filter(pk=org.contract.plan_id).update(name='=HYPERLINK("http://x","y")')
    TicketFactory(
        organization=org,
        priority="P1",
        received_at=datetime.datetime(2026, 4, 1, 10, tzinfo=UTC),
    )
    client.force_login(django_user_model.objects.create_superuser("root", "r@v.example", "pw"))
    response = client.get(
        "/admin/availability/servicecredit/sla-compliance/?month=2026-04&format=csv"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][1] == '\'=HYPERLINK("http://x","y")'
    month = datetime.date(2026, 4, 1)
    assert "'=HYPERLINK" in reports.as_csv(month, reports.compliance(month))
