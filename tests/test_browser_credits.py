"""A client claims a service credit in a real headless Chromium; screenshots of the pages."""

import datetime
import os

import pytest
from django.utils import timezone

from sla.availability.models import Incident, ServiceCredit
from tests.factories import ClientFactory, OrganizationFactory

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls
# and our fixtures are ordinary synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

LAPTOP = {"width": 1366, "height": 900}


pytestmark = [
    pytest.mark.browser,
]


@pytest.fixture
def erin(transactional_db):
    org = OrganizationFactory(name="Initech")
    now = timezone.now()
    start = now - datetime.timedelta(days=40)
    # Some history for the chart: a long outage about forty days ago.
    Incident.objects.create(
        started_at=start, ended_at=start + datetime.timedelta(hours=9), summary="UI outage"
    )
    for days, status, ago in [(2, "open", 3), (1, "granted", 50), (1, "expired", 90)]:
        breach = now - datetime.timedelta(days=ago)
        ServiceCredit.objects.create(
            organization=org,
            kind="availability",
            month=(breach - datetime.timedelta(days=1)).date().replace(day=1),
            days=days,
            status=status,
            breach_at=breach,
            claim_deadline=breach + datetime.timedelta(days=30),
        )
    return ClientFactory(username="erin", first_name="Erin", organization=org)


def sign_in(page, base_url):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", "erin")
    page.fill("input[name=password]", "pw-Secret-123")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{base_url}/")


def test_client_claims_an_open_credit_and_sees_it_claimed(live_server, browser, erin):
    page = browser.new_page(viewport=LAPTOP)
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/status/")
    assert page.is_visible("text=All systems operational")
    assert page.locator("svg.chart rect.bar").count() == 12
    page.screenshot(path="/tmp/avail-status.png", full_page=True)

    page.goto(f"{live_server.url}/credits/")
    credit = ServiceCredit.objects.get(status="open")
    row = page.locator(f"tr[data-credit='{credit.pk}']")
    assert "27 days left" in row.inner_text() or "26 days left" in row.inner_text()
    page.screenshot(path="/tmp/avail-credits-before.png", full_page=True)
    row.locator("button:has-text('Claim')").click()
    page.wait_for_selector(".messages")
    assert "Your claim has been recorded" in page.inner_text(".messages")
    claimed_row = page.locator(f"#credits-claimed tr[data-credit='{credit.pk}']")
    assert "Claimed" in claimed_row.inner_text()
    assert page.locator("#credits-open").count() == 0
    page.screenshot(path="/tmp/avail-credits.png", full_page=True)
    credit.refresh_from_db()
    assert credit.status == "claimed" and credit.claimed_by == erin

    # The same page in French, through the header's language switcher.
    page.click("form.lang button[value=fr]")
    page.wait_for_selector("text=Crédits de service")
    assert "Réclamé" in page.inner_text(f"#credits-claimed tr[data-credit='{credit.pk}']")
    page.screenshot(path="/tmp/avail-credits-fr.png", full_page=True)
    page.goto(f"{live_server.url}/status/")
    assert page.is_visible("text=Tous les systèmes sont opérationnels")
    page.screenshot(path="/tmp/avail-status-fr.png", full_page=True)
