"""A client adds a watcher on the ticket page and turns a mail category off, in Chromium."""

import pytest

from notifications.models import OptOut, Watcher
from tests.browser import LAPTOP
from tests.factories import ClientFactory, TicketFactory
from tests.test_browser_portal import dana  # noqa: F401 - a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, live_server, dana):  # noqa: F811 - dana is imported above
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "pw-Secret-123")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def test_a_client_adds_a_watcher_and_turns_a_category_off(page, live_server, dana):  # noqa: F811
    colleague = ClientFactory(username="eli", first_name="Eli", organization=dana.organization)
    outsider = ClientFactory(username="mallory")  # another organization
    ticket = TicketFactory(organization=dana.organization, reporter=dana, subject="Replay gap")

    page.goto(f"{live_server.url}/tickets/{ticket.reference}/")
    page.fill("#watcher-email", outsider.email)
    page.click("button:has-text('Add watcher')")
    assert page.locator(".message.error, .messages .error").count() >= 1
    page.fill("#watcher-email", colleague.email)
    page.click("button:has-text('Add watcher')")
    page.wait_for_selector(f".watcher-list li:has-text('{colleague.email}')")
    assert list(Watcher.objects.values_list("user__username", flat=True)) == ["eli"]
    page.locator("#watchers").screenshot(path="/tmp/portal-watchers.png")

    page.goto(f"{live_server.url}/account/notifications/")
    page.uncheck("input[value=escalations]")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Your mail preferences were saved.")
    assert not page.is_checked("input[value=escalations]")
    page.screenshot(path="/tmp/portal-mail-preferences.png")
    assert list(OptOut.objects.values_list("email", "category")) == [(dana.email, "escalations")]
