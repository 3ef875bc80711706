"""The client side after filing: unread markers, tabs, search in replies, local times, the
resolution box ("Is this solved?"), the satisfaction survey and the cool-down."""

import datetime

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tests.factories import ClientFactory, StaffFactory
from tickets import client_actions, services
from tickets.models import SatisfactionRating, Status, TicketEvent

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 10, 10, 0, tzinfo=datetime.UTC)  # a Tuesday, GMT = UTC
SUMMER = datetime.datetime(2026, 7, 7, 10, 0, tzinfo=datetime.UTC)  # BST = UTC+1
COOLDOWN = 30


@pytest.fixture(autouse=True)
def _cooldown(settings):
    settings.CLIENT_ACTION_COOLDOWN_SECONDS = COOLDOWN


def open_ticket(user, subject="Heatmap blank", at=T0):
    with time_machine.travel(at, tick=False):
        return services.open_ticket(
            organization=user.organization,
            reporter=user,
            subject=subject,
            description="The heatmap of /pricing is blank.",
            priority="P1",
        )


def staff_reply(ticket, agent, body="We are looking into it.", at=None):
    with time_machine.travel(at or T0 + datetime.timedelta(hours=1), tick=False):
        services.add_comment(ticket, author=agent, body=body)


def resolved(ticket, agent, at=None):
    with time_machine.travel(at or T0 + datetime.timedelta(hours=2), tick=False):
        return services.resolve(ticket, actor=agent, resolution="Cache purged; heatmaps are back.")


def view(client, ticket, at=T0 + datetime.timedelta(minutes=30)):
    with time_machine.travel(at, tick=False):
        assert client.get(f"/tickets/{ticket.reference}/").status_code == 200


def list_rows(client, **params):
    response = client.get("/", {"filtered": "1", **params})
    assert response.status_code == 200
    return {t.reference: t for t in response.context["page"].object_list}


# --- unread markers -----------------------------------------------------------------------


def test_staff_reply_marks_the_ticket_updated_until_the_client_opens_it(client, alice, charlie):
    ticket = open_ticket(alice)
    client.force_login(alice)
    view(client, ticket)
    assert not list_rows(client)[ticket.reference].unread

    staff_reply(ticket, charlie)
    html = client.get("/").content.decode()
    assert list_rows(client)[ticket.reference].unread
    assert 'class="unread"' in html and "Updated" in html

    view(client, ticket, at=T0 + datetime.timedelta(hours=3))
    assert not list_rows(client)[ticket.reference].unread


def test_internal_notes_and_the_clients_own_replies_do_not_mark_unread(client, alice, charlie):
    ticket = open_ticket(alice)
    client.force_login(alice)
    view(client, ticket)
    with time_machine.travel(T0 + datetime.timedelta(hours=1), tick=False):
        services.add_comment(ticket, author=charlie, body="Looks like a CDN issue", internal=True)
        services.add_comment(ticket, author=alice, body="Still blank")
    assert not list_rows(client)[ticket.reference].unread


def test_a_public_status_change_marks_unread_for_each_colleague_separately(
    client, alice, org, charlie
):
    colleague = ClientFactory(username="carol", organization=org)
    ticket = open_ticket(alice)
    for user in (alice, colleague):
        client.force_login(user)
        view(client, ticket)
    with time_machine.travel(T0 + datetime.timedelta(hours=1), tick=False):
        services.set_status(ticket, status=Status.PENDING, actor=charlie)
    client.force_login(alice)
    view(client, ticket, at=T0 + datetime.timedelta(hours=2))
    assert not list_rows(client)[ticket.reference].unread
    client.force_login(colleague)
    assert list_rows(client)[ticket.reference].unread


def test_list_with_unread_markers_and_tabs_has_a_fixed_query_count(
    client, alice, charlie, django_assert_max_num_queries
):
    tickets = [open_ticket(alice, f"Gap {i}") for i in range(12)]
    for ticket in tickets[::2]:
        staff_reply(ticket, charlie)
    client.force_login(alice)
    with django_assert_max_num_queries(7):
        response = client.get("/", {"filtered": "1", "tab": "all"})
    assert sum(t.unread for t in response.context["page"].object_list) == 6


def test_opening_a_ticket_keeps_one_view_per_person_at_the_latest_time(client, alice, charlie):
    from tickets.models import TicketView

    ticket = open_ticket(alice)
    client.force_login(alice)
    later = T0 + datetime.timedelta(hours=5)
    view(client, ticket)
    view(client, ticket, at=later)
    assert list(TicketView.objects.values_list("user", "ticket", "viewed_at")) == [
        (alice.pk, ticket.pk, later)
    ]


def test_the_ticket_page_has_a_fixed_query_count(
    client, alice, charlie, django_assert_max_num_queries
):
    ticket = open_ticket(alice)
    for n in range(5):
        staff_reply(ticket, charlie, body=f"Update {n}")
    client.force_login(alice)
    view(client, ticket)
    # the session's user with its organization, the ticket, its public events, files,
    # comments and their files, escalations, watchers, and the one statement of the visit
    with django_assert_max_num_queries(9):
        response = client.get(f"/tickets/{ticket.reference}/")
    assert response.content.decode().count("Update ") == 5
    assert alice.organization.name in response.content.decode()


# --- tabs and search ----------------------------------------------------------------------


def test_tabs_split_open_waiting_and_resolved_and_all_keeps_everything(client, alice, charlie):
    new = open_ticket(alice, "New one")
    waiting = open_ticket(alice, "Waiting one")
    done = open_ticket(alice, "Done one")
    services.set_status(waiting, status=Status.PENDING, actor=charlie)
    resolved(done, charlie)
    client.force_login(alice)
    assert set(list_rows(client, tab="open")) == {new.reference, waiting.reference}
    assert set(list_rows(client, tab="waiting")) == {waiting.reference}
    assert set(list_rows(client, tab="resolved")) == {done.reference}
    assert len(list_rows(client, tab="all")) == 3
    tabs = {t["name"]: t for t in client.get("/").context["tabs"]}
    assert tabs["open"]["current"] and tabs["open"]["count"] == 2
    assert (tabs["waiting"]["count"], tabs["resolved"]["count"], tabs["all"]["count"]) == (1, 1, 3)


def test_search_finds_words_in_public_replies_but_never_in_internal_notes(
    client, alice, bob, charlie
):
    by_reply = open_ticket(alice, "Replay issue")
    by_note = open_ticket(alice, "Zoning issue")
    theirs = open_ticket(bob, "Other org")
    staff_reply(by_reply, charlie, body="The tracker snippet was outdated.")
    with time_machine.travel(T0, tick=False):
        services.add_comment(by_note, author=charlie, body="snippet secret", internal=True)
        services.add_comment(theirs, author=charlie, body="snippet elsewhere")
    client.force_login(alice)
    assert set(list_rows(client, q="snippet", tab="all")) == {by_reply.reference}
    client.force_login(charlie)
    found = set(list_rows(client, q="snippet", tab="all"))
    # One search everywhere (Ticket.objects.search): its index holds public text only, so
    # staff find notes in the admin's ticket pages, never through a shared search index.
    assert found == {by_reply.reference, theirs.reference}


# --- local times --------------------------------------------------------------------------


def test_times_show_in_the_organizations_region_with_the_zone(client, alice, org):
    org.contract.region = "US-PST"
    org.contract.save()
    ticket = open_ticket(alice, at=SUMMER)
    client.force_login(alice)  # the zone is read at sign-in
    html = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert "2026-07-07 03:00 PDT" in html
    assert "Times are UTC" not in client.get("/").content.decode()
    assert "2026-07-07 03:00 PDT" in client.get("/", {"tab": "all"}).content.decode()


# --- resolution: note, confirm, reopen ----------------------------------------------------


def test_resolved_ticket_shows_the_note_and_asks_whether_it_is_solved(client, alice, charlie):
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(alice)
    html = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert "Cache purged; heatmaps are back." in html
    assert "Is this solved?" in html
    assert f"/tickets/{ticket.reference}/confirm/" in html
    assert 'id="escalation-reason"' not in html  # no escalation on a resolved ticket


def test_confirming_closes_the_ticket_and_records_who(client, alice, charlie):
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(alice)
    response = client.post(f"/tickets/{ticket.reference}/confirm/", follow=True)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED and ticket.closed_at is not None
    assert ticket.events.filter(action="confirmed", actor=alice).exists()
    assert "closed" in str(list(response.context["messages"])[0])
    activity = [row["text"] for row in response.context["activity"]]
    assert "The client confirmed the resolution; the ticket is closed." in activity


def test_reopening_goes_through_the_reopen_service_with_the_reason(client, alice, charlie):
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(alice)
    client.post(f"/tickets/{ticket.reference}/reopen/", {"reason": "Still blank on /pricing"})
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolved_at is None
    event = ticket.events.get(action="reopened", field="", kind="audit")
    assert (event.actor, event.note) == (alice, "Still blank on /pricing")


def test_another_organization_cannot_confirm_reopen_or_rate(client, alice, bob, charlie):
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(bob)
    for action, data in (("confirm", {}), ("reopen", {}), ("rate", {"rating": "5"})):
        assert client.post(f"/tickets/{ticket.reference}/{action}/", data).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert not SatisfactionRating.objects.exists()


# --- satisfaction survey ------------------------------------------------------------------


def test_a_colleague_rates_once_and_the_answer_shows_instead_of_the_form(
    client, alice, org, charlie
):
    ticket = resolved(open_ticket(alice), charlie)
    colleague = ClientFactory(username="carol", organization=org)
    client.force_login(colleague)
    client.post(f"/tickets/{ticket.reference}/rate/", {"rating": "4", "comment": "Quick, thanks"})
    answer = SatisfactionRating.objects.get(ticket=ticket)
    assert (answer.rating, answer.comment, answer.author) == (4, "Quick, thanks", colleague)

    client.force_login(alice)
    html = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert "Your rating: 4/5" in html and 'name="rating"' not in html
    response = client.post(f"/tickets/{ticket.reference}/rate/", {"rating": "1"}, follow=True)
    assert "already been rated" in str(list(response.context["messages"])[0])
    assert SatisfactionRating.objects.get(ticket=ticket).rating == 4


@pytest.mark.parametrize("rating", ["0", "6", "x", ""])
def test_a_rating_outside_1_to_5_is_refused_with_a_message(client, alice, charlie, rating):
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(alice)
    response = client.post(f"/tickets/{ticket.reference}/rate/", {"rating": rating}, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert not SatisfactionRating.objects.exists()


def test_rating_an_open_ticket_or_as_staff_is_refused(alice, charlie):
    ticket = open_ticket(alice)
    with pytest.raises(services.ServiceError):
        client_actions.rate(ticket, actor=alice, rating=5)
    resolved(ticket, charlie)
    with pytest.raises(services.ServiceError):
        client_actions.rate(ticket, actor=charlie, rating=5)
    assert not SatisfactionRating.objects.exists()


def test_compliance_report_shows_csat_per_agent_and_per_organization(client, alice, org, charlie):
    ticket = open_ticket(alice)
    services.assign(ticket, assignee=charlie, actor=charlie)
    resolved(ticket, charlie)
    client_actions.rate(ticket, actor=alice, rating=5)
    admin = StaffFactory(username="root", is_superuser=True)
    client.force_login(admin)
    response = client.get("/admin/availability/servicecredit/sla-compliance/", {"month": "2026-03"})
    tables = dict(response.context["satisfaction_tables"])
    (agent,) = tables["Per agent"]
    (organization,) = tables["Per organization"]
    assert (agent.name, agent.answers, agent.average) == ("charlie", 1, 5.0)
    assert (organization.name, organization.satisfied_percent) == (org.name, 100.0)
    assert "Client satisfaction (CSAT)" in response.content.decode()


# --- cool-down and escalation -------------------------------------------------------------


def test_a_second_request_within_the_cooldown_is_refused_with_a_message(client, alice, charlie):
    ticket = open_ticket(alice)
    client.force_login(alice)
    url = f"/tickets/{ticket.reference}/escalate/"
    with time_machine.travel(T0 + datetime.timedelta(minutes=5), tick=False):
        client.post(url, {"reason": "Blocked"})
    with time_machine.travel(T0 + datetime.timedelta(minutes=5, seconds=10), tick=False):
        response = client.post(url, {"reason": "Still blocked"}, follow=True)
    assert response.status_code == 200
    message = str(list(response.context["messages"])[-1])
    assert "please wait 20 seconds" in message
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    with time_machine.travel(T0 + datetime.timedelta(minutes=6), tick=False):
        client.post(url, {"reason": "Still blocked"})
    ticket.refresh_from_db()
    assert ticket.escalation_level == 2


def test_escalating_a_resolved_ticket_from_the_portal_is_refused(client, alice, charlie):
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(alice)
    response = client.post(f"/tickets/{ticket.reference}/escalate/", {"reason": "x"}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    ticket.refresh_from_db()
    assert ticket.escalation_level == 0


def test_staff_are_never_cooled_down(alice, charlie):
    ticket = open_ticket(alice)
    TicketEvent.objects.create(ticket=ticket, at=T0, actor=charlie, action="escalated")
    with time_machine.travel(T0, tick=False):
        client_actions.check_cooldown(charlie, ticket, "escalated")


# --- attachments --------------------------------------------------------------------------


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def test_images_and_pdfs_preview_inline_with_a_restrictive_policy(client, alice, bob):
    with time_machine.travel(T0, tick=False):
        ticket = services.open_ticket(
            organization=alice.organization,
            reporter=alice,
            subject="Screens",
            description="see files",
            files=[
                SimpleUploadedFile("shot.png", PNG),
                SimpleUploadedFile("report.pdf", b"%PDF-1.4 minimal"),
                SimpleUploadedFile("page.html.txt", b"<script>alert(1)</script>"),
            ],
        )
    png, pdf, text = ticket.attachments.order_by("id")
    client.force_login(alice)
    html = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert f'<img src="/attachments/{png.pk}/view/"' in html
    for attachment, content_type in ((png, "image/png"), (pdf, "application/pdf")):
        response = client.get(f"/attachments/{attachment.pk}/view/")
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith("inline")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response["Content-Security-Policy"]
    response = client.get(f"/attachments/{text.pk}/view/")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    client.force_login(bob)
    assert client.get(f"/attachments/{png.pk}/view/").status_code == 404


def test_the_filing_form_states_the_limits_up_front_and_says_when_files_were_lost(client, alice):
    client.force_login(alice)
    html = client.get("/tickets/new/").content.decode()
    assert "Up to 10 files, 10.0\xa0MB each." in html
    assert 'data-max-bytes="10485760"' in html and "data-dropzone" in html
    response = client.post(
        "/tickets/new/",
        {
            "subject": "",
            "description": "d",
            "priority": "P2",
            "feature": "other",
            "attachments": [SimpleUploadedFile("a.txt", b"x")],
        },
    )
    assert "please choose them again" in response.content.decode()


# --- French -------------------------------------------------------------------------------


def test_french_ticket_page_words_the_sla_badge_timeline_and_activity(client, alice, charlie):
    ticket = open_ticket(alice)
    staff_reply(ticket, charlie)
    resolved(ticket, charlie)
    client.force_login(alice)
    client.cookies["django_language"] = "fr"
    with time_machine.travel(T0 + datetime.timedelta(hours=3), tick=False):
        html = client.get(f"/tickets/{ticket.reference}/").content.decode()
    assert "délai démarré (heures ouvrées, région GMT), réponse attendue le" in html
    assert "première réponse le mar 10 mars 2026 11:00 GMT" in html
    assert "Reçu via Portail web" in html or "Reçu via" in html
    assert "Le problème est-il résolu ?" in html
    assert "clock started" not in html and "first response at" not in html


def test_events_are_stored_as_codes_and_worded_when_read(alice, charlie):
    from tickets.event_text import describe

    ticket = open_ticket(alice)
    staff_reply(ticket, charlie)
    event = ticket.events.get(kind="sla", action="first_response")
    assert event.params["at"].startswith("2026-03-10T11:00")
    with translation.override("fr"):
        assert describe(event).startswith("première réponse le")
    with translation.override("en"):
        assert describe(event).startswith("first response at")


def test_french_status_chart_keeps_dots_in_svg_numbers(client, alice):
    import re

    client.force_login(alice)
    client.cookies["django_language"] = "fr"
    html = client.get("/status/").content.decode()
    attributes = re.findall(r'\s(?:x|y|x1|x2|y1|y2|width|height)="([^"]*)"', html)
    assert attributes and not [a for a in attributes if "," in a]


# --- statement ----------------------------------------------------------------------------


def test_statement_pdf_has_a_header_and_page_x_of_y_on_every_page(client, alice, org):
    import io

    from pypdf import PdfReader

    from tests.factories import TicketFactory

    for i in range(60):
        TicketFactory(
            organization=org,
            subject=f"Replay lag <b>#{i}</b> & more",
            received_at=T0 + datetime.timedelta(hours=i),
        )
    client.force_login(alice)
    with time_machine.travel(datetime.datetime(2026, 4, 2, tzinfo=datetime.UTC), tick=False):
        response = client.get("/statements/2026-03.pdf")
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"SLA statement — {org.name}" in text
        assert f"Page {number} of {len(pages)}" in text
    assert "Replay lag <b>#0</b> & more" in pages[0].extract_text()  # escaped, shown as typed


def test_statement_page_formats_percent_and_minutes(client, alice):
    client.force_login(alice)
    with time_machine.travel(datetime.datetime(2026, 4, 2, tzinfo=datetime.UTC), tick=False):
        html = client.get("/statements/2026-03/").content.decode()
        client.cookies["django_language"] = "fr"
        french = client.get("/statements/2026-03/").content.decode()
    assert "100.00\xa0%" in html and "99.50\xa0%" in html
    assert "\xa0min" in html
    assert "100,00\xa0%" in french


def test_a_colleagues_reopen_is_not_support_activity(client, alice, org, charlie):
    colleague = ClientFactory(username="carol", organization=org)
    ticket = resolved(open_ticket(alice), charlie)
    client.force_login(alice)
    view(client, ticket, at=T0 + datetime.timedelta(hours=3))
    with time_machine.travel(T0 + datetime.timedelta(hours=4), tick=False):
        services.reopen(ticket, actor=colleague, reason="Back again")
    assert not list_rows(client)[ticket.reference].unread


def test_statement_pdf_columns_fit_the_page_and_dates_fit_their_columns():
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from sla.availability import statement_pdf as pdf

    usable = landscape(A4)[0] - 30 * mm
    for widths in (pdf.TICKET_COLUMNS_MM, pdf.CREDIT_COLUMNS_MM, pdf.FIGURE_COLUMNS_MM):
        assert sum(widths) * mm <= usable
    date = stringWidth("2026-03-02 10:00", "Helvetica", 8) + 12  # 6 pt padding each side
    for column in (3, 4, 6):  # received, response due, resolution due
        assert date <= pdf.TICKET_COLUMNS_MM[column] * mm
    assert date <= min(pdf.CREDIT_COLUMNS_MM[4:]) * mm


def test_favicon_is_linked_and_served_for_pages_without_the_link(client, alice):
    client.force_login(alice)
    assert 'rel="icon" href="/static/img/favicon.svg"' in client.get("/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/img/favicon.svg"
