"""Portal pages (status, credits, statements), the staff report, the monthly statement mail
and the user's language preference."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from sla.availability import services, statement_mail, tasks
from sla.availability.models import (
    Incident,
    PlannedInterruption,
    ServiceCredit,
    StatementDelivery,
)
from tests.factories import ClientFactory, TicketFactory

UTC = datetime.UTC
NOW = datetime.datetime(2026, 4, 20, 10, tzinfo=UTC)  # a Monday


pytestmark = pytest.mark.django_db


def t(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def make_credit(org, **values):
    fields = {
        "organization": org,
        "kind": "availability",
        "month": datetime.date(2026, 3, 1),
        "days": 2,
        "breach_at": t(2026, 4, 1),
        "claim_deadline": t(2026, 5, 1),
        **values,
    }
    return ServiceCredit.objects.create(**fields)


@pytest.mark.parametrize("url", ["/status/", "/credits/", "/statements/2026-03/"])
def test_pages_require_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_status_is_operational_without_an_open_incident(alice_client):
    page = alice_client.get("/status/")
    assert page.status_code == 200
    assert b"All systems operational" in page.content
    assert page.content.count(b'class="bar') == 12  # the last 12 months as SVG bars
    assert b'class="target"' in page.content
    # The next four windows from Monday 20 April: Sat 25, Sun 26 April, Sat 2, Sun 3 May.
    assert [s for s, _ in page.context["maintenance"]] == [
        t(2026, 4, 25, 6),
        t(2026, 4, 26, 6),
        t(2026, 5, 2, 6),
        t(2026, 5, 3, 6),
    ]


def test_status_shows_an_open_incident_affecting_the_org_only(alice_client, other_org, client, bob):
    Incident.objects.create(started_at=t(2026, 4, 20, 9), summary="Heatmaps unreachable")
    restricted = Incident.objects.create(started_at=t(2026, 4, 20, 9), summary="Globex SSO down")
    restricted.organizations.set([other_org])
    page = alice_client.get("/status/")
    assert b"Degraded service / outage" in page.content
    assert b"Heatmaps unreachable" in page.content
    assert b"Globex SSO down" not in page.content


def test_status_lists_announced_planned_interruptions(alice_client):
    PlannedInterruption.objects.create(
        start=t(2026, 4, 22, 20),
        end=t(2026, 4, 22, 22),
        summary="Storage migration",
        announced_at=t(2026, 4, 15),
    )
    assert b"Storage migration" in alice_client.get("/status/").content


def test_credits_page_lists_own_credits_with_days_left_and_claims_by_post(
    alice_client, org, other_org
):
    mine = make_credit(org)  # deadline 1 May 00:00, now 20 April 10:00 → 10 whole days left
    make_credit(other_org, days=9)
    page = alice_client.get("/credits/")
    assert page.status_code == 200
    assert page.context["credits"] == [mine]
    assert b"10 days left" in page.content
    assert b"2026-12-31" in page.content  # the contract end date
    response = alice_client.post(f"/credits/{mine.pk}/claim/")
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.status == "claimed"
    assert b"Your claim has been recorded" in alice_client.get("/credits/").content


def test_claiming_another_organizations_credit_from_the_portal_is_404(alice_client, other_org):
    theirs = make_credit(other_org)
    assert alice_client.post(f"/credits/{theirs.pk}/claim/").status_code == 404
    assert alice_client.get(f"/credits/{theirs.pk}/claim/").status_code in (404, 405)


def test_late_claim_in_the_portal_shows_the_closing_date(alice_client, org):
    credit = make_credit(org, breach_at=t(2026, 3, 1), claim_deadline=t(2026, 3, 31))
    page = alice_client.post(f"/credits/{credit.pk}/claim/", follow=True)
    assert b"The 30-day claim window closed on 2026-03-31 00:00 UTC." in page.content


def test_statement_html_and_pdf_list_the_months_tickets_availability_and_credits(
    alice_client, org, other_org
):
    TicketFactory(
        organization=org,
        subject="Replay lag",
        priority="P1",
        received_at=t(2026, 3, 2, 10),
        first_response_at=t(2026, 3, 2, 11, 30),
        response_due_at=t(2026, 3, 2, 16),
        resolved_at=t(2026, 3, 5, 12),
        resolution_due_at=t(2026, 3, 4, 12),
        status="resolved",
    )
    TicketFactory(organization=other_org, subject="Not mine", received_at=t(2026, 3, 3))
    make_credit(org)
    page = alice_client.get("/statements/2026-03/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Replay lag" in text and "Not mine" not in text
    assert "1 h 30" in text  # response time 10:00 → 11:30
    assert "3 d 0 h 30" in text  # resolution time 2 Mar 11:30 → 5 Mar 12:00
    assert "40320\xa0min" in text.replace(",", "")  # eligible minutes, "330 min" style
    pdf = alice_client.get("/statements/2026-03.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert alice_client.get("/statements/2026-13/").status_code == 404
    assert alice_client.get("/statements/2026-06/").status_code == 404  # the future


def test_monthly_statement_mail_goes_out_once_on_the_first_business_day(org, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ClientFactory(username="boss", organization=org, is_org_admin=True, email="boss@acme.example")
    ClientFactory(username="dev", organization=org, email="dev@acme.example")
    # 1 May 2026 is a Friday but not a holiday in England (the early May bank holiday is
    # Monday 4 May), so Friday 1 May is the first business day.
    with time_machine.travel(t(2026, 4, 30, 12), tick=False):
        assert tasks.send_statements() == 0
    with time_machine.travel(t(2026, 5, 1, 7), tick=False):
        assert tasks.send_statements() == 1
        assert tasks.send_statements() == 0  # twice in the day: one mail
    [message] = mail.outbox
    assert message.to == ["boss@acme.example"]
    assert message.subject == "Your SLA statement for 2026-04"
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == ("sla-statement-2026-04.pdf", "application/pdf")
    assert content.startswith(b"%PDF")
    assert StatementDelivery.objects.get().sent_at is not None


def test_first_business_day_skips_a_weekend_and_a_bank_holiday():
    # August 2026 starts on a Saturday → Monday 3 August; January 2027: 1st is a holiday
    # (Friday) → Monday 4 January.
    assert statement_mail.first_business_day("GMT", datetime.date(2026, 8, 1)) == datetime.date(
        2026, 8, 3
    )
    assert statement_mail.first_business_day("GMT", datetime.date(2027, 1, 1)) == datetime.date(
        2027, 1, 4
    )


def test_staff_compliance_report_and_csv(client, org, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@vendor.example", "pw")
    client.force_login(admin)
    TicketFactory(
        organization=org,
        priority="P1",
        received_at=t(2026, 4, 1, 10),
        first_response_at=t(2026, 4, 1, 11),
        response_due_at=t(2026, 4, 1, 16),
        resolved_at=t(2026, 4, 3, 11),
        resolution_due_at=t(2026, 4, 2, 11),
        status="resolved",
    )
    TicketFactory(
        organization=org,
        priority="P1",
        received_at=t(2026, 4, 2, 10),
        first_response_at=t(2026, 4, 2, 18),
        response_due_at=t(2026, 4, 2, 16),
        resolved_at=t(2026, 4, 2, 19),
        resolution_due_at=t(2026, 4, 9, 18),
        status="resolved",
    )
    url = "/admin/availability/servicecredit/sla-compliance/?month=2026-04"
    page = client.get(url)
    assert page.status_code == 200
    [row] = page.context["rows"]
    assert (row.plan, row.priority, row.region, row.tickets) == ("Platinum", "P1", "GMT", 2)
    assert (row.response_met, row.response_breached) == (1, 1)
    assert (row.resolution_met, row.resolution_breached) == (1, 1)
    # responses took 1 h and 8 h → median 4 h 30; resolutions 48 h and 1 h → median 24 h 30
    assert row.median_response == datetime.timedelta(hours=4, minutes=30)
    assert row.median_resolution == datetime.timedelta(hours=24, minutes=30)
    assert b"<svg" in page.content
    csv = client.get(url + "&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("month,plan,priority,region,tickets")
    assert lines[1] == "2026-04,Platinum,P1,GMT,2,1,1,1,1,270.0,1470.0,0"


def test_staff_grant_claims_from_the_admin(client, org, alice, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@vendor.example", "pw")
    client.force_login(admin)
    credit = make_credit(org)
    open_one = make_credit(org, month=datetime.date(2026, 2, 1))
    services.claim(credit, user=alice)
    response = client.post(
        "/admin/availability/servicecredit/",
        {"action": "grant_claims", "_selected_action": [credit.pk, open_one.pk]},
        follow=True,
    )
    assert response.status_code == 200
    credit.refresh_from_db()
    open_one.refresh_from_db()
    assert (credit.status, open_one.status) == ("granted", "open")
    org.contract.refresh_from_db()
    assert org.contract.end_date == datetime.date(2027, 1, 2)


def test_staff_record_an_incident_in_the_admin_with_history(client, org, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@vendor.example", "pw")
    client.force_login(admin)
    response = client.post(
        "/admin/availability/incident/add/",
        {
            "started_at_0": "2026-04-20",
            "started_at_1": "08:00:00",
            "ended_at_0": "2026-04-20",
            "ended_at_1": "07:00:00",
            "summary": "Replay down",
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form is redisplayed with the error
    assert "ended_at" in response.context["adminform"].form.errors
    response = client.post(
        "/admin/availability/incident/add/",
        {
            "started_at_0": "2026-04-20",
            "started_at_1": "08:00:00",
            "summary": "Replay down",
            "organizations": [org.pk],
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert list(incident.organizations.all()) == [org]
    assert incident.revisions.get().actor == admin


@override_settings(LANGUAGE_CODE="en")
def test_the_users_language_preference_applies_until_they_switch(client, alice, settings):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "core.middleware.UserLanguageMiddleware",
    ]
    alice.language = "fr"
    alice.save()
    client.force_login(alice)
    response = client.get("/credits/")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert response.context["LANGUAGE_CODE"] == "fr"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # what the switcher does
    response = client.get("/credits/")
    assert response.context["LANGUAGE_CODE"] == "en"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_pages_speak_french(alice_client, org, settings):
    make_credit(org)
    alice_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    status = alice_client.get("/status/").content.decode()
    assert "Tous les systèmes sont opérationnels" in status
    assert "Prochaines fenêtres de maintenance" in status
    credits = alice_client.get("/credits/").content.decode()
    assert "Date de fin du contrat" in credits
    assert "10 jours restants" in credits
    assert ">Réclamer<" in credits


def test_an_organization_without_a_contract_has_no_statement_day(org):
    org.contract.delete()
    org = type(org).objects.get(pk=org.pk)
    for day in range(1, 8):
        assert not statement_mail.is_first_business_day(org, t(2026, 6, day, 12))
