import datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import (
    CommentFactory,
    OrganizationFactory,
    StaffFactory,
    SuperuserFactory,
    TicketFactory,
)
from tests.test_admin_utils import admin_form_data, split_datetime
from tickets import services
from tickets.models import Comment, Status, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 4, 11, 0, tzinfo=datetime.UTC)  # a Wednesday, business hours
CHANGELIST = reverse("admin:tickets_ticket_changelist")
ADD = reverse("admin:tickets_ticket_add")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_client(client, charlie):
    client.force_login(charlie)
    return client


def change_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def open_ticket(reporter, subject="Heatmap blank", priority=None, hours_ago=2):
    return services.open_ticket(
        organization=reporter.organization,
        reporter=reporter,
        subject=subject,
        description="Nothing renders on the product page.",
        priority=priority,
        received_at=NOW - datetime.timedelta(hours=hours_ago),
    )


def listed(response):
    return {t.pk for t in response.context["cl"].result_list}


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- access ------------------------------------------------------------------------------


def test_changelist_renders_for_staff_without_model_permissions(staff_client, alice, charlie):
    ticket = open_ticket(alice, subject="Replay frozen")
    assert not charlie.is_superuser and not charlie.user_permissions.exists()
    response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    assert ticket.reference in response.text and "Replay frozen" in response.text
    # Staff may not delete tickets, so the bulk delete action is not offered.
    assert "delete_selected" not in response.text


def test_changelist_renders_for_superuser_with_delete_action(client, alice):
    open_ticket(alice)
    client.force_login(SuperuserFactory(username="root"))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "delete_selected" in response.text


def test_client_is_redirected_to_admin_login(client, alice):
    ticket = open_ticket(alice)
    client.force_login(alice)
    for url in (CHANGELIST, change_url(ticket), ADD):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_untriaged_ticket_shows_the_suggested_priority(staff_client, alice):
    open_ticket(alice, priority="P0")
    response = staff_client.get(CHANGELIST)
    assert "P0 suggested" in response.text
    assert "ticket-prio-untriaged" in response.text


def test_a_finished_untriaged_ticket_shows_its_priority_not_a_suggestion(
    staff_client, alice, charlie
):
    ticket = open_ticket(alice, priority="P0")
    services.resolve(ticket, actor=charlie, resolution="Fixed.")
    response = staff_client.get(CHANGELIST)
    assert "P0 suggested" not in response.text
    assert 'ticket-prio-untriaged"' not in response.text  # the badge, not the stylesheet
    assert 'class="ticket-prio ticket-prio-P0"' in response.text


# --- filters -----------------------------------------------------------------------------


@pytest.fixture
def desk(alice, bob, charlie):
    """Four tickets across two organizations, regions, priorities, assignees and statuses."""
    other_agent = StaffFactory(username="dora")
    bob.organization.contract.region = "US-PST"
    bob.organization.contract.save()
    new = open_ticket(alice, subject="new one")
    mine = open_ticket(alice, subject="mine")
    services.triage(mine, priority="P0", actor=charlie)
    services.assign(mine, assignee=charlie, actor=charlie)
    theirs = open_ticket(bob, subject="theirs")
    services.assign(theirs, assignee=other_agent, actor=other_agent)
    done = open_ticket(bob, subject="done")
    services.start_diagnosis(done, actor=charlie)
    services.resolve(done, actor=charlie)
    return {"new": new.pk, "mine": mine.pk, "theirs": theirs.pk, "done": done.pk}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status__exact": "resolved"}, {"done"}),
        ({"status__exact": "new"}, {"new", "theirs"}),
        ({"priority__exact": "P0"}, {"mine"}),
        ({"region": "US-PST"}, {"theirs", "done"}),
        ({"region": "GMT"}, {"new", "mine"}),
        ({"assigned": "none"}, {"new"}),
        ({"assigned": "me"}, {"mine", "done"}),
    ],
)
def test_each_filter_narrows_the_list(staff_client, desk, query, expected):
    response = staff_client.get(CHANGELIST, query)
    assert response.status_code == 200
    assert listed(response) == {desk[name] for name in expected}


def test_organization_filter_narrows_the_list(staff_client, desk, bob):
    response = staff_client.get(CHANGELIST, {"organization__id__exact": bob.organization_id})
    assert listed(response) == {desk["theirs"], desk["done"]}


# --- search ------------------------------------------------------------------------------


def test_search_by_reference_finds_exactly_that_ticket(staff_client, alice):
    tickets = [open_ticket(alice, subject=f"ticket {i}") for i in range(12)]
    target = tickets[10]
    response = staff_client.get(CHANGELIST, {"q": target.reference})
    # Zero-padded (sequences are shared by the whole run, so the exact number varies).
    assert target.reference == f"CS-{target.pk:06d}" and target.reference.startswith("CS-0")
    assert listed(response) == {target.pk}


def test_search_by_bare_number_finds_the_ticket(staff_client, alice):
    first, second = open_ticket(alice, subject="one"), open_ticket(alice, subject="two")
    response = staff_client.get(CHANGELIST, {"q": str(second.pk)})
    assert listed(response) == {second.pk}
    assert first.pk not in listed(response)


def test_search_by_subject(staff_client, alice):
    replay = open_ticket(alice, subject="Session replay shows a grey screen")
    open_ticket(alice, subject="Heatmap blank")
    response = staff_client.get(CHANGELIST, {"q": "grey screen"})
    assert listed(response) == {replay.pk}


def test_search_by_reporter_email(staff_client, alice, bob):
    open_ticket(alice)
    bobs = open_ticket(bob)
    response = staff_client.get(CHANGELIST, {"q": bob.email})
    assert listed(response) == {bobs.pk}


# --- actions -----------------------------------------------------------------------------


def run_action(client, action, tickets, **extra):
    data = {"action": action, "_selected_action": [t.pk for t in tickets], "index": 0, **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_assign_to_me_action_assigns_and_audits(staff_client, alice, charlie):
    tickets = [open_ticket(alice), open_ticket(alice)]
    response = run_action(staff_client, "assign_to_me", tickets)
    assert response.status_code == 200
    assert set(Ticket.objects.values_list("assignee", flat=True)) == {charlie.pk}
    assert TicketEvent.objects.filter(action="assigned", actor=charlie).count() == 2
    assert "Assign to me: 2 of 2 tickets changed." in texts(response)


def test_set_priority_action_triages_and_records_reclassification(staff_client, alice, charlie):
    tickets = [open_ticket(alice, priority="P2"), open_ticket(alice, priority="P3")]
    response = run_action(staff_client, "set_priority", tickets, priority="P1")
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"P1"}
    assert Ticket.objects.filter(triaged_at__isnull=False, status=Status.OPEN).count() == 2
    events = TicketEvent.objects.filter(kind="audit", action="reclassified", actor=charlie)
    assert sorted(events.values_list("old_value", "new_value")) == [("P2", "P1"), ("P3", "P1")]
    assert "Set priority P1: 2 of 2 tickets changed." in texts(response)


def test_set_priority_action_without_a_priority_changes_nothing(staff_client, alice):
    ticket = open_ticket(alice, priority="P2")
    response = run_action(staff_client, "set_priority", [ticket], priority="")
    ticket.refresh_from_db()
    assert ticket.triaged_at is None
    assert not TicketEvent.objects.filter(action="reclassified").exists()
    assert any("Choose a priority" in text for text in texts(response))


def test_start_diagnosis_action_records_first_response(staff_client, alice, charlie):
    ticket = open_ticket(alice)
    run_action(staff_client, "start_diagnosis", [ticket])
    ticket.refresh_from_db()
    assert ticket.first_response_at == NOW
    assert ticket.assignee == charlie and ticket.status == Status.OPEN
    assert ticket.events.filter(action="first_response", actor=charlie).exists()


def test_resolve_action_resolves_and_warns_about_refused_tickets(staff_client, alice, charlie):
    active, already = open_ticket(alice), open_ticket(alice)
    services.resolve(already, actor=charlie)
    response = run_action(
        staff_client, "resolve", [active, already], resolution="Cache purged on our CDN."
    )
    active.refresh_from_db()
    assert (active.status, active.resolved_at) == (Status.RESOLVED, NOW)
    assert active.resolution == "Cache purged on our CDN."
    assert active.events.filter(action="resolved", actor=charlie).exists()
    messages = texts(response)
    assert "Resolve: 1 of 2 tickets changed." in messages
    assert f"{already.reference}: This ticket is resolved." in messages


def test_resolve_action_without_a_note_changes_nothing(staff_client, alice):
    ticket = open_ticket(alice)
    response = run_action(staff_client, "resolve", [ticket], resolution="  ")
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert any("Write a resolution note" in text for text in texts(response))


# --- change form -------------------------------------------------------------------------


def post_change(client, ticket, **overrides):
    data = admin_form_data(client.get(change_url(ticket)), **overrides)
    return client.post(change_url(ticket), data)


def test_change_form_renders_conversation_audit_and_attachments(staff_client, alice, charlie):
    ticket = open_ticket(alice)
    services.add_comment(ticket, author=charlie, body="Checking the logs", internal=True)
    response = staff_client.get(change_url(ticket))
    assert response.status_code == 200
    assert "Checking the logs" in response.text and "ticket-note" in response.text
    assert "audit trail" in response.text.lower()


def test_priority_change_records_reclassified_event(staff_client, alice, charlie):
    ticket = open_ticket(alice, priority="P2")
    response = post_change(staff_client, ticket, priority="P0")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.suggested_priority, ticket.status) == ("P0", "P2", "open")
    event = ticket.events.get(kind="audit", action="reclassified")
    assert (event.old_value, event.new_value, event.actor) == ("P2", "P0", charlie)


def test_unchanged_form_writes_no_events(staff_client, alice):
    ticket = open_ticket(alice)
    before = ticket.events.count()
    assert post_change(staff_client, ticket).status_code == 302
    assert ticket.events.count() == before


def test_reply_from_change_form_is_public_and_the_first_response(staff_client, alice, charlie):
    ticket = open_ticket(alice)
    post_change(staff_client, ticket, new_comment="We are looking into it.")
    comment = Comment.objects.get(ticket=ticket)
    assert (comment.author, comment.internal, comment.body) == (
        charlie,
        False,
        "We are looking into it.",
    )
    ticket.refresh_from_db()
    assert ticket.first_response_at == NOW


def test_internal_note_from_change_form_stays_internal(staff_client, alice):
    ticket = open_ticket(alice)
    post_change(staff_client, ticket, new_comment="Customer's CDN again", comment_internal="on")
    comment = Comment.objects.get(ticket=ticket)
    assert comment.internal is True
    ticket.refresh_from_db()
    assert ticket.first_response_at is None


def test_assignee_exclusion_and_subject_go_through_services(staff_client, alice, charlie):
    ticket = open_ticket(alice)
    post_change(
        staff_client,
        ticket,
        assignee=charlie.pk,
        excluded="on",
        exclusion_reason="Internet Explorer 11",
        subject="Heatmap blank on IE11",
    )
    ticket.refresh_from_db()
    assert ticket.assignee == charlie and ticket.excluded
    assert ticket.subject == "Heatmap blank on IE11"
    actions = set(ticket.events.filter(actor=charlie).values_list("action", flat=True))
    assert {"assigned", "excluded", "changed"} <= actions


def test_refused_change_is_a_form_error_and_changes_nothing(staff_client, alice):
    ticket = open_ticket(alice)
    before = ticket.events.count()
    response = post_change(staff_client, ticket, excluded="on", exclusion_reason="", priority="P0")
    assert response.status_code == 200
    assert "Say why the ticket is excluded." in response.text
    ticket.refresh_from_db()
    assert not ticket.excluded and ticket.priority == "P2"
    assert ticket.events.count() == before


def test_forbidden_status_move_is_a_form_error(staff_client, alice, charlie):
    ticket = open_ticket(alice)
    services.set_status(ticket, status=Status.OPEN, actor=charlie)
    response = post_change(staff_client, ticket, status=Status.NEW)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["status"]
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_reply_and_resolve_in_one_save(staff_client, alice):
    ticket = open_ticket(alice)
    post_change(
        staff_client,
        ticket,
        new_comment="Fixed by a redeploy.",
        status="resolved",
        resolution="A redeploy fixed the heatmap.",
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.first_response_at == NOW == ticket.resolved_at
    assert ticket.resolution == "A redeploy fixed the heatmap."


def test_resolving_without_a_resolution_note_is_a_form_error(staff_client, alice):
    ticket = open_ticket(alice)
    response = post_change(staff_client, ticket, status="resolved", resolution="")
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["resolution"]
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


# --- add form (a phone call) ---------------------------------------------------------------


def add_data(org, reporter, received_at, **extra):
    return {
        "organization": org.pk,
        "reporter": reporter.pk if reporter else "",
        "subject": "Workspace down",
        "description": "Called the hotline: nothing loads.",
        "priority": "P0",
        "feature": "workspace",
        "channel": "phone",
        **split_datetime("received_at", received_at),
        **extra,
    }


def test_logging_a_past_phone_call_opens_the_ticket(staff_client, alice, charlie):
    called = NOW - datetime.timedelta(minutes=40)
    response = staff_client.post(ADD, add_data(alice.organization, alice, called))
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.received_at, ticket.reporter) == ("phone", called, alice)
    assert (ticket.priority, ticket.organization) == ("P0", alice.organization)
    assert ticket.triaged_at is not None  # staff set the priority: no suggestion to triage
    assert ticket.events.get(action="opened").actor == charlie


def test_logging_a_call_in_the_future_is_a_form_error(staff_client, alice):
    later = NOW + datetime.timedelta(hours=1)
    response = staff_client.post(ADD, add_data(alice.organization, alice, later))
    assert response.status_code == 200
    assert "This time is in the future." in response.context["adminform"].form.errors["received_at"]
    assert not Ticket.objects.exists()


def test_reporter_from_another_organization_is_refused(staff_client, alice, bob):
    response = staff_client.post(ADD, add_data(alice.organization, bob, NOW))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["reporter"]
    assert errors == ["This user does not belong to the organization."]
    assert not Ticket.objects.exists()


def test_add_form_defaults_to_a_phone_call(staff_client):
    form = staff_client.get(ADD).context["adminform"].form
    assert form.initial["channel"] == "phone"


# --- audit and comment admins --------------------------------------------------------------


def test_event_admin_is_read_only_and_searchable_by_reference(staff_client, alice, charlie):
    first, second = open_ticket(alice), open_ticket(alice)
    services.triage(second, priority="P1", actor=charlie)
    url = reverse("admin:tickets_ticketevent_changelist")
    response = staff_client.get(url, {"q": second.reference})
    assert {e.ticket_id for e in response.context["cl"].result_list} == {second.pk}
    assert staff_client.get(reverse("admin:tickets_ticketevent_add")).status_code == 403
    event = first.events.first()
    response = staff_client.post(
        reverse("admin:tickets_ticketevent_change", args=[event.pk]), {"action": "x"}
    )
    assert response.status_code == 403


def test_comment_admin_filters_internal_notes(staff_client, alice, charlie):
    ticket = open_ticket(alice)
    services.add_comment(ticket, author=charlie, body="note", internal=True)
    services.add_comment(ticket, author=charlie, body="reply")
    url = reverse("admin:tickets_comment_changelist")
    response = staff_client.get(url, {"internal__exact": "1"})
    assert [c.body for c in response.context["cl"].result_list] == ["note"]


# --- query count -------------------------------------------------------------------------


def make_tickets(count):
    agents = StaffFactory.create_batch(3)
    orgs = OrganizationFactory.create_batch(3)
    for i in range(count):
        ticket = TicketFactory(
            organization=orgs[i % 3],
            assignee=agents[i % 3] if i % 4 else None,
            suggested_priority="P1" if i % 2 else None,
            received_at=NOW - datetime.timedelta(hours=i + 1),
        )
        CommentFactory(ticket=ticket)


# 11: the saved-view counts (one aggregate) and the capped count (planner estimate, then COUNT).
@pytest.mark.parametrize("count", [3, 30])
def test_changelist_queries_do_not_grow_with_rows(
    staff_client, django_assert_max_num_queries, count
):
    make_tickets(count)
    with django_assert_max_num_queries(11):
        response = staff_client.get(CHANGELIST, {"status__exact": "new"})
    assert len(response.context["cl"].result_list) == count
