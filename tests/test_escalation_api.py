"""Customer-requested escalation through the API and the portal, with tenancy."""

from django.template.loader import render_to_string
from django.test import RequestFactory

from escalation.models import EscalationEvent
from escalation.sweep import sweep
from notifications.delivery import deliver_due
from tests.api_fixtures import api_for
from tests.test_escalation_sweep import DUE, WARN, open_p1
from tickets.models import OutboundMessage, TicketEvent


def escalate_url(ticket):
    return f"/api/v1/tickets/{ticket.reference}/escalate/"


def list_url(ticket):
    return f"/api/v1/tickets/{ticket.reference}/escalations/"


def test_client_escalates_one_level_at_a_time_then_409(alice, django_capture_on_commit_callbacks):
    ticket = open_p1(alice)
    api = api_for(alice)
    for level in (1, 2, 3):
        response = api.post(escalate_url(ticket), {"reason": f"Still blocked ({level})"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["level"] == level and body["escalation_level"] == level
        assert body["trigger"] == "request"
    response = api.post(escalate_url(ticket), {"reason": "More!"})
    assert response.status_code == 409
    assert "highest level" in str(response.json())
    assert "escalation_level" in response.json()  # names the field (issue 10)
    ticket.refresh_from_db()
    assert ticket.escalation_level == 3
    assert ticket.escalations.count() == 3
    deliver_due()  # the notices wait in the outbox until the worker sends them
    assert OutboundMessage.objects.filter(ticket=ticket, kind="escalation").count() == 3
    assert TicketEvent.objects.filter(ticket=ticket, kind="escalation", public=True).count() == 3


def test_reason_is_required(alice):
    ticket = open_p1(alice)
    response = api_for(alice).post(escalate_url(ticket), {"reason": "  "})
    assert response.status_code == 400
    assert "reason" in response.json()
    assert ticket.escalations.count() == 0


def test_another_organization_gets_404(alice, bob):
    ticket = open_p1(alice)
    api = api_for(bob)
    assert api.get(list_url(ticket)).status_code == 404
    assert api.post(escalate_url(ticket), {"reason": "Let me in"}).status_code == 404
    assert ticket.escalations.count() == 0


def test_staff_escalates_any_ticket(alice, charlie):
    ticket = open_p1(alice)
    response = api_for(charlie).post(escalate_url(ticket), {"reason": "Customer called"})
    assert response.status_code == 201
    assert ticket.escalations.get().requested_by == charlie


def test_request_raises_the_level_so_the_sweep_skips_it(alice):
    ticket = open_p1(alice)
    api_for(alice).post(escalate_url(ticket), {"reason": "Urgent"})
    result = sweep(now=DUE)
    assert result.escalations == 0 and result.breaches == 1
    assert list(ticket.escalations.values_list("level", "trigger")) == [(1, "request")]


def test_clients_do_not_see_warnings_staff_do(alice, charlie, django_assert_max_num_queries):
    ticket = open_p1(alice)
    sweep(now=WARN)
    sweep(now=DUE)
    client_api, staff_api = api_for(alice), api_for(charlie)
    with django_assert_max_num_queries(4):
        rows = client_api.get(list_url(ticket)).json()
    assert [r["level"] for r in rows] == [1]
    assert set(rows[0]) >= {"level", "role", "reason", "trigger", "fired_at", "contact"}
    assert rows[0]["trigger"] == "deadline"
    assert rows[0]["role"] == "Customer Support Manager"
    assert [r["level"] for r in staff_api.get(list_url(ticket)).json()] == [0, 1]


# --- portal ---------------------------------------------------------------------------------


def test_portal_request_redirects_to_the_ticket_with_a_message(client, alice):
    ticket = open_p1(alice)
    client.force_login(alice)
    response = client.post(
        f"/tickets/{ticket.reference}/escalate/", {"reason": "Nobody answered"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/tickets/{ticket.reference}/"
    assert "Escalated to level 1" in [str(m) for m in response.context["messages"]][0]
    assert ticket.escalations.get().reason == "Nobody answered"


def test_portal_request_without_reason_changes_nothing(client, alice):
    ticket = open_p1(alice)
    client.force_login(alice)
    response = client.post(f"/tickets/{ticket.reference}/escalate/", {"reason": ""}, follow=True)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert ticket.escalations.count() == 0


def test_portal_request_on_another_organizations_ticket_is_404(client, alice, bob):
    ticket = open_p1(alice)
    client.force_login(bob)
    assert client.post(f"/tickets/{ticket.reference}/escalate/", {"reason": "x"}).status_code == 404


def test_portal_get_is_not_allowed(client, alice):
    ticket = open_p1(alice)
    client.force_login(alice)
    assert client.get(f"/tickets/{ticket.reference}/escalate/").status_code == 405


def render_panel(ticket, user):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(
        "escalation/_ticket_escalation.html", {"ticket": ticket, "user": user}, request=request
    )


def test_panel_shows_history_and_form_then_highest_level_notice(alice):
    ticket = open_p1(alice)
    sweep(now=WARN)
    html = render_panel(ticket, alice)
    assert "Request escalation" in html and "Warning" not in html
    for n in range(3):
        api_for(alice).post(escalate_url(ticket), {"reason": f"Reason {n}"})
    ticket.refresh_from_db()
    html = render_panel(ticket, alice)
    assert "already at the highest level" in html
    assert 'name="reason"' not in html
    assert "Reason 2" in html and "Worldwide Support Director" in html


def test_events_visible_to_matches_the_api(alice, bob, charlie):
    open_p1(alice)
    sweep(now=WARN)
    sweep(now=DUE)
    assert EscalationEvent.objects.visible_to(alice).count() == 1
    assert EscalationEvent.objects.visible_to(bob).count() == 0
    assert EscalationEvent.objects.visible_to(charlie).count() == 2
