"""The escalation admin: rules, director, shifts, events, contacts check, the ticket inline."""

import pytest
from django.contrib import admin

from escalation.admin import EscalationEventInline
from escalation.models import Director, EscalationRule
from escalation.sweep import sweep
from tests.factories import SuperuserFactory
from tests.test_escalation_sweep import DUE, open_p1
from tickets.models import Ticket


@pytest.fixture
def boss_client(client, db):
    client.force_login(SuperuserFactory(username="boss"))
    return client


def test_rules_are_seeded_for_both_plans(db):
    rows = set(EscalationRule.objects.values_list("plan__slug", "percent", "action"))
    for plan in ("platinum", "standard"):
        assert {(plan, 75, "warning"), (plan, 100, "level1")} <= rows
        assert {(plan, 150, "level2"), (plan, 200, "level3")} <= rows


def test_ticket_admin_shows_escalations_inline(boss_client, alice):
    assert EscalationEventInline in type(admin.site._registry[Ticket]).inlines
    ticket = open_p1(alice)
    sweep(now=DUE)
    response = boss_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/")
    assert response.status_code == 200
    assert "Customer Support Manager" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/escalation/escalationrule/",
        "/admin/escalation/escalationevent/",
        "/admin/escalation/oncallshift/",
        "/admin/escalation/contractcontacts/?contacts=missing",
    ],
)
def test_admin_pages_render(boss_client, org, url):
    assert boss_client.get(url).status_code == 200


def test_missing_contacts_are_flagged(boss_client, org):
    response = boss_client.get("/admin/escalation/escalationevent/", follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any("lack a level 1 or 2 contact" in t for t in texts)
    assert any("Director has no email" in t for t in texts)
    response = boss_client.get("/admin/escalation/contractcontacts/?contacts=missing")
    assert "Acme" in response.content.decode()


def test_director_is_a_singleton_edited_in_place(boss_client, db):
    response = boss_client.get("/admin/escalation/director/")
    assert response.status_code == 302 and response.url.endswith("/1/change/")
    boss_client.post(
        "/admin/escalation/director/1/change/", {"name": "Dana", "email": "dana@vendor.example"}
    )
    assert Director.load().email == "dana@vendor.example"
    assert Director.objects.count() == 1
