"""The client portal's pages on the generated dataset: the ticket list (its tabs) and the
ticket page, in-process through the real views, now and as they were rendered before.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/bench_portal_pages.py \\
        [--size 1000000] [--repeat 40]

The data is datagen.py's `eservice_data_<size>` (loaded on first use). Opening a ticket page
records the visit; those writes are rolled back at the end, so the shared dataset is left as
it was. The client is the first client of the biggest organization; a staff user's list (the
organization column) is measured too.

Baseline, measured in the same run, request for request: the previous rendering:
  - list rows through the template engine (the row loop as it was, kept below as
    PREVIOUS_ROWS), instead of portal_list's one format_html a row;
  - the session's user read without its organization (Django's ModelBackend: the header's
    organization name costs a second query);
  - the visit recorded with update_or_create (a transaction, a locking SELECT, an UPDATE)
    instead of one upsert.
Prints per page: median wall ms and CPU ms per request and queries, for both, and the ratio.
"""

# ruff: noqa: E501 - PREVIOUS_ROWS is the template as it was, lines and all
import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402

PREVIOUS_ROWS = """{% translate 'Reference' as l_reference %}{% translate 'Subject' as l_subject %}{% translate 'Organization' as l_organization %}{% translate 'Priority' as l_priority %}{% translate 'Status' as l_status %}{% translate 'Received' as l_received %}{% translate 'SLA' as l_sla %}{% translate 'Last update' as l_updated %}{% translate 'Support replied or changed the status since you last opened this ticket.' as l_unread_title %}{% translate "Updated" as l_unread %}
  {% for ticket in page.object_list %}{% url 'tickets:detail' ticket.reference as detail_url %}
    <tr{% if ticket.unread %} class="unread"{% endif %}>
      <td data-label="{{ l_reference }}"><a class="ref" href="{{ detail_url }}">{{ ticket.reference }}</a></td>
      <td data-label="{{ l_subject }}" class="subject"><a href="{{ detail_url }}">{{ ticket.subject }}</a>{% if ticket.unread %} <span class="badge unread-marker" title="{{ l_unread_title }}">{{ l_unread }}</span>{% endif %}</td>
      {% if show_org %}<td data-label="{{ l_organization }}">{{ ticket.organization.name }}</td>{% endif %}
      <td data-label="{{ l_priority }}"><span class="badge prio-{{ ticket.priority|lower }}">{{ ticket.priority }}</span></td>
      <td data-label="{{ l_status }}"><span class="badge status-{{ ticket.status }}">{{ ticket.get_status_display }}</span></td>
      <td data-label="{{ l_received }}"><time datetime="{{ ticket.received_at|date:'c' }}">{{ ticket.received_at|date:"Y-m-d H:i T" }}</time></td>
      <td data-label="{{ l_sla }}">{% include "sla/_ticket_sla.html" %}</td>
      <td data-label="{{ l_updated }}"><time datetime="{{ ticket.updated_at|date:'c' }}">{{ ticket.updated_at|date:"Y-m-d H:i T" }}</time></td>
    </tr>
  {% endfor %}
"""
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    return parser.parse_args()


def previous_templates(tmp: Path) -> Path:
    """A template directory whose tickets/list.html has the previous row loop."""
    current = (ROOT / "templates" / "tickets" / "list.html").read_text()
    tag = "  {% ticket_rows page.object_list show_org %}\n"
    if tag not in current:
        sys.exit("templates/tickets/list.html no longer has the rows tag this baseline replaces")
    (tmp / "tickets").mkdir(parents=True)
    (tmp / "tickets" / "list.html").write_text(current.replace(tag, PREVIOUS_ROWS))
    return tmp


def previous_mark_viewed(user, ticket, at=None) -> None:
    from django.utils import timezone

    from tickets.models import TicketView

    TicketView.objects.update_or_create(
        user=user, ticket=ticket, defaults={"viewed_at": at or timezone.now()}
    )


@contextlib.contextmanager
def previous(tmp: Path):
    from django.conf import settings
    from django.test import override_settings

    from tickets import client_actions

    templates = [dict(settings.TEMPLATES[0])]
    templates[0]["DIRS"] = [str(previous_templates(tmp)), *templates[0]["DIRS"]]
    saved = client_actions.mark_viewed
    client_actions.mark_viewed = previous_mark_viewed
    try:
        with override_settings(TEMPLATES=templates, AUTHENTICATION_BACKENDS=[MODEL_BACKEND]):
            yield MODEL_BACKEND
    finally:
        client_actions.mark_viewed = saved


# Requests alternate between the two variants in blocks of this many, so that the load of the
# shared machine weighs on both alike.
BLOCK = 5


def timed(http, path: str, times: dict, repeat: int) -> None:
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        response = http.get(path)
        times["ms"].append((time.perf_counter() - wall) * 1000)
        times["cpu"].append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, (path, response.status_code)


def queries(http, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        http.get(path)
    return len(captured.captured_queries)


def summary(times: dict, count: int) -> dict:
    return {
        "ms": statistics.median(times["ms"]),
        "cpu": statistics.median(times["cpu"]),
        "queries": count,
    }


def pages() -> list[tuple[str, str, str]]:
    from tickets.models import Ticket

    client = "data-client-000-0"
    newest = (
        Ticket.objects.filter(reporter__username=client).order_by("-id").values_list("id", flat=1)
    )
    reference = Ticket(id=newest[0]).reference
    return [
        ("client list, first page", client, "/"),
        ("client list, Open tab", client, "/?filtered=1&tab=open"),
        ("client list, All tab", client, "/?filtered=1&tab=all"),
        ("staff portal list", "data-staff-00", "/?filtered=1&tab=open"),
        ("client ticket page", client, f"/tickets/{reference}/"),
    ]


def run(repeat: int) -> list[tuple[str, dict, dict]]:
    from django.test import Client

    from accounts.models import User

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, username, path) in enumerate(pages()):
            user = User.objects.get(username=username)
            now, before = Client(), Client()
            now.force_login(user)
            times = {"now": {"ms": [], "cpu": []}, "before": {"ms": [], "cpu": []}}
            timed(now, path, {"ms": [], "cpu": []}, 1)  # warm-up
            counts = {"now": queries(now, path)}
            for block in range(max(1, repeat // BLOCK)):
                timed(now, path, times["now"], BLOCK)
                with previous(Path(tmp) / f"{n}-{block}") as backend:
                    if not block:
                        before.force_login(user, backend=backend)
                        timed(before, path, {"ms": [], "cpu": []}, 1)  # warm-up
                        counts["before"] = queries(before, path)
                    timed(before, path, times["before"], BLOCK)
            rows.append(
                (
                    label,
                    summary(times["now"], counts["now"]),
                    summary(times["before"], counts["before"]),
                )
            )
    return rows


def main() -> None:
    import os

    from django.db import transaction

    args = parse_args()
    datagen.ensure_dataset(args.size)
    with transaction.atomic():  # the visits the ticket page records are rolled back
        rows = run(args.repeat)
        transaction.set_rollback(True)
    print(f"portal pages at {args.size:,} tickets, median of {args.repeat} requests each")
    print(
        f"{'page':<26} {'ms now':>7} {'cpu':>6} {'q':>3}   {'ms before':>9} {'cpu':>6} {'q':>3}"
        "   ratio (wall, cpu)"
    )
    for label, now, before in rows:
        print(
            f"{label:<26} {now['ms']:7.1f} {now['cpu']:6.1f} {now['queries']:3d}   "
            f"{before['ms']:9.1f} {before['cpu']:6.1f} {before['queries']:3d}   "
            f"{before['ms'] / now['ms']:5.2f}x, {before['cpu'] / now['cpu']:4.2f}x"
        )
    print("load average (1, 5, 15 min):", ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
