"""A client files an anomaly in a real headless Chromium; screenshots at laptop and phone sizes."""

import os
from pathlib import Path

import pytest

from tests.browser import LAPTOP, PHONE
from tests.factories import ClientFactory, OrganizationFactory, TicketFactory
from tickets.models import Ticket

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls
# and our fixtures are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SHOTS = Path("/tmp")

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed rows.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def dana():
    org = OrganizationFactory(name="Initech")
    for i in range(6):  # something to look at in the list
        TicketFactory(organization=org, subject=f"Heatmap gap on landing page #{i}")
    return ClientFactory(username="dana", first_name="Dana", organization=org)


@pytest.fixture
def page(browser, live_server, dana):
    """A browser tab in which Dana, a client of Initech, has signed in."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "pw-Secret-123")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


def fits_width(page, viewport) -> bool:
    """Nothing overflows sideways: the page is as wide as the screen."""
    return page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_list_form_and_contact_fit_laptop_and_phone_screens(page, live_server):
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/")
        page.screenshot(path=str(SHOTS / f"portal-list-{name}.png"), full_page=True)
        assert fits_width(page, viewport)
        page.goto(f"{live_server.url}/tickets/new/")
        page.screenshot(path=str(SHOTS / f"portal-new-{name}.png"), full_page=True)
        assert fits_width(page, viewport)
        page.goto(f"{live_server.url}/contact/")
        page.screenshot(path=str(SHOTS / f"portal-contact-{name}.png"), full_page=True)
        assert fits_width(page, viewport)


def test_client_files_an_anomaly_with_attachment_and_finds_it_in_the_list(
    page, live_server, tmp_path
):
    evidence = tmp_path / "console.txt"
    evidence.write_text("TypeError: replay is undefined\n")
    page.click("nav >> text=New anomaly")
    page.fill("input[name=subject]", "Session replay blank on checkout")
    page.select_option("select[name=feature]", "session_replay")
    page.check("input[name=priority][value=P1]")
    page.fill("textarea[name=description]", "Replays of /checkout show a white page.")
    page.set_input_files("input[name=attachments]", str(evidence))
    page.click("button[type=submit]:has-text('Send the report')")

    ticket = Ticket.objects.get(subject="Session replay blank on checkout")
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.reference}/")
    assert ticket.reference in page.inner_text(".messages")
    assert page.is_visible("text=console.txt")
    assert (ticket.channel, ticket.suggested_priority) == ("web", "P1")
    assert "Chrome" in ticket.user_agent
    assert ticket.attachments.get().filename == "console.txt"
    page.screenshot(path=str(SHOTS / "portal-detail-laptop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / "portal-detail-phone.png"), full_page=True)
    assert fits_width(page, PHONE)

    page.click("nav >> text=My tickets")
    assert page.is_visible(f"a:has-text('{ticket.reference}')")
