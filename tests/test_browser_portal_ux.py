"""The client portal in a real Chromium: unread markers, the resolution and the survey, the
French status chart, every page on a phone, the statement on a laptop. Any console error on
any page fails the test. Screenshots go to a temporary folder outside the repository; their
paths are printed."""

import datetime
import os

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.browser import PHONE
from tests.factories import ClientFactory, OrganizationFactory, StaffFactory
from tickets import services
from tickets.models import SatisfactionRating

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

LAPTOP = {"width": 1440, "height": 900}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("portal-ux-shots")


class Console:
    """Collects console errors and uncaught exceptions of every page a context opens."""

    def __init__(self, context):
        self.errors = []
        context.on("page", self.watch)

    def watch(self, page):
        page.on(
            "console", lambda m: m.type == "error" and self.errors.append(f"{page.url}: {m.text}")
        )
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))


@pytest.fixture
def story():
    """Dana of Initech (GMT): a ticket support answered since she looked, a resolved one."""
    org = OrganizationFactory(name="Initech")
    dana = ClientFactory(username="dana", first_name="Dana", organization=org)
    sam = StaffFactory(username="sam", first_name="Sam")
    earlier = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    with time_machine.travel(earlier, tick=False):
        answered = services.open_ticket(
            organization=org, reporter=dana, subject="Heatmap gap on the pricing page",
            description="No clicks recorded on /pricing since Monday.", priority="P2",
        )  # fmt: skip
        fixed = services.open_ticket(
            organization=org, reporter=dana, subject="Replay player blank on Safari",
            description="Every Safari replay shows a white frame.", priority="P1",
            files=[SimpleUploadedFile("screenshot.png", PNG)],
        )  # fmt: skip
    services.add_comment(answered, author=sam, body="The tracker was filtered by a CDN rule.")
    services.add_comment(fixed, author=sam, body="Found it: a codec change.")
    services.resolve(fixed, actor=sam, resolution="Decoder fixed; Safari replays play again.")
    return {"dana": dana, "answered": answered, "fixed": fixed}


@pytest.fixture
def portal(browser, live_server, story, shots):
    """A signed-in tab for Dana; fails the test on any console error of any page."""
    context = browser.new_context(viewport=LAPTOP)
    console = Console(context)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password]", "pw-Secret-123")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{live_server.url}/")
    page.shot = lambda name: _shot(page, shots, name)
    yield page
    context.close()
    assert console.errors == []


def _shot(page, shots, name):
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")  # noqa: T201 - the run's output names the files
    return path


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_client_sees_the_unread_marker_reads_the_resolution_and_rates(portal, live_server, story):
    answered, fixed = story["answered"], story["fixed"]
    portal.goto(f"{live_server.url}/?filtered=1&tab=all")
    row = portal.locator(f"tr:has(a:text('{answered.reference}'))")
    assert row.locator(".unread-marker").is_visible()
    portal.shot("portal-list-unread-1440")

    portal.click(f"a:text('{answered.reference}')")
    assert portal.is_visible("text=The tracker was filtered by a CDN rule.")
    portal.click("nav >> text=My tickets")
    portal.click("a.tab-all")
    row = portal.locator(f"tr:has(a:text('{answered.reference}'))")
    assert row.locator(".unread-marker").count() == 0

    portal.click(f"a:text('{fixed.reference}')")
    assert portal.locator(".resolution-note").inner_text().startswith("Decoder fixed")
    assert portal.is_visible("text=Is this solved?")
    thumbnail = portal.locator("img[alt='screenshot.png']")
    thumbnail.scroll_into_view_if_needed()  # loading="lazy": fetched once on screen
    portal.wait_for_function(
        "i => i.complete && i.naturalWidth === 1", arg=thumbnail.element_handle()
    )
    assert portal.locator("#escalation-reason").count() == 0  # not offered once resolved
    portal.check("input[name=rating][value='4']")
    portal.fill("textarea[name=comment]", "Fixed quickly, thanks.")
    portal.shot("portal-resolution-csat-1440")
    portal.click("button:has-text('Send my rating')")
    assert portal.is_visible("text=Thank you for your feedback.")
    assert portal.is_visible("text=Your rating: 4/5. Thank you.")
    answer = SatisfactionRating.objects.get(ticket=fixed)
    assert (answer.rating, answer.comment, answer.author) == (
        4,
        "Fixed quickly, thanks.",
        story["dana"],
    )
    portal.click("button:has-text('Yes, close the ticket')")
    assert portal.is_visible("text=The ticket is now closed.")


def test_french_status_page_draws_its_bars(portal, live_server):
    portal.click("button[name=language][value=fr]")
    portal.goto(f"{live_server.url}/status/")
    assert portal.locator("html").get_attribute("lang") == "fr"
    bars = portal.locator("svg.chart rect.bar")
    assert bars.count() == 12
    for i in range(12):
        box = bars.nth(i).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0
    assert "," not in (bars.first.get_attribute("y") or "")
    portal.shot("portal-status-fr-1440")


def test_every_portal_page_fits_a_phone_and_shows_every_menu_entry(portal, live_server, story):
    portal.set_viewport_size(PHONE)
    pages = {
        "list": "/",
        "list-all": "/?filtered=1&tab=all",
        "new": "/tickets/new/",
        "answered": f"/tickets/{story['answered'].reference}/",
        "resolved": f"/tickets/{story['fixed'].reference}/",
        "status": "/status/",
        "credits": "/credits/",
        "statement": f"/statements/{datetime.date.today().replace(day=1):%Y-%m}/",
        "contact": "/contact/",
        "password": "/accounts/password_change/",
    }
    for name, path in pages.items():
        response = portal.goto(f"{live_server.url}{path}")
        assert response.status < 400, path
        portal.shot(f"portal-{name}-390")
        assert overflow(portal) <= 0, path
        for link in portal.locator("nav.main-nav a").all():
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], path


def test_statement_table_fits_a_laptop(portal, live_server, story):
    month = f"{datetime.date.today().replace(day=1):%Y-%m}"
    portal.goto(f"{live_server.url}/statements/{month}/")
    table = portal.locator("table.statement-table")
    assert table.count() == 1
    portal.shot("portal-statement-1440")
    widths = portal.evaluate(
        "() => { const w = document.querySelector('table.statement-table').parentElement;"
        " return [w.scrollWidth, w.clientWidth]; }"
    )
    assert widths[0] <= widths[1], widths
    assert overflow(portal) <= 0


def test_chosen_files_are_checked_before_sending(portal, live_server, tmp_path):
    portal.goto(f"{live_server.url}/tickets/new/")
    assert portal.is_visible("text=Up to 10 files")
    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ")
    portal.fill("input[name=subject]", "Zoning overlay missing")
    portal.fill("textarea[name=description]", "The overlay is gone.")
    portal.set_input_files("input[name=attachments]", str(bad))
    assert portal.is_visible("text=files of this type are not accepted")
    portal.click("button[type=submit]:has-text('Send the report')")
    assert portal.url.endswith("/tickets/new/")  # not sent: the rest of the form is kept
    assert portal.input_value("input[name=subject]") == "Zoning overlay missing"
    good = tmp_path / "console.txt"
    good.write_text("TypeError\n")
    portal.set_input_files("input[name=attachments]", str(good))
    assert portal.locator(".client-error").is_hidden()
    portal.fill("input[name=subject]", "")  # a missing field is caught before sending too
    portal.click("button[type=submit]:has-text('Send the report')")
    assert portal.url.endswith("/tickets/new/")
    assert portal.locator("input[name=attachments]").evaluate("i => i.files.length") == 1
    portal.shot("portal-new-files-1440")
