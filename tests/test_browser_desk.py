"""An agent works the desk and a ticket in a real headless Chromium at 1440 px.

Every page visited must log no console error and no uncaught exception. Screenshots of
the desk and the ticket page, before and after the agent's work, go to a temporary
directory outside the repository; their paths are printed.
"""

import datetime
import os
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import ClientFactory, OrganizationFactory, StaffFactory
from tickets import services
from tickets.models import Macro, Status, Ticket

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

DESKTOP = {"width": 1440, "height": 900}
SHOTS = Path(tempfile.gettempdir()) / "eservice-desk-screenshots"
DEADLINE_MS = 20_000  # generous: the presence poll runs every few seconds

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class ConsoleWatch:
    """Collects console errors and page exceptions; check() fails the test on any."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url', '')})")

    def check(self, where: str):
        assert self.errors == [], f"console errors on {where}: {self.errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


@pytest.fixture
def desk_data():
    """A Platinum client with three tickets: one long breached, one fresh, one P3."""
    org = OrganizationFactory(name="Initech")
    dana = ClientFactory(username="dana", first_name="Dana", last_name="Scully", organization=org)
    now = timezone.now()
    made = {}
    for name, priority, age in (
        ("fresh", "P2", datetime.timedelta(minutes=5)),
        ("breached", "P1", datetime.timedelta(days=30)),
        ("low", "P3", datetime.timedelta(days=2)),
    ):
        made[name] = services.open_ticket(
            organization=org,
            reporter=dana,
            subject=f"Heatmap gap on the {name} landing page",
            description="The heatmap stops at the fold.",
            priority=priority,
            received_at=now - age,
        )
    # Long names and subjects: the columns must still fit at 1440 px.
    wide = OrganizationFactory(name="Consolidated Intercontinental Analytics Holdings")
    wide_client = ClientFactory(username="wanda", organization=wide)
    for i in range(4):
        services.open_ticket(
            organization=wide,
            reporter=wide_client,
            subject="Session replay shows a grey screen on every checkout page after the "
            f"latest release of the tracking tag, variant {i}",
            description="Grey screen.",
            priority="P2",
            received_at=now - datetime.timedelta(minutes=30 + i),
        )
    Macro.objects.all().delete()  # the seeded ones; this test makes its own
    Macro.objects.create(
        title="Acknowledge",
        body="Hello {client_name}, we are looking into {reference} now.",
        assign_to_me=True,
    )
    return made


def sign_in(browser, live_server, username, first_name):
    StaffFactory(username=username, first_name=first_name)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    watch = ConsoleWatch(page)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-Secret-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    watch.check("the admin index")
    return context, page, watch


def test_agent_opens_the_most_urgent_ticket_applies_a_macro_attaches_and_resolves(
    browser, live_server, desk_data, tmp_path
):
    context, page, watch = sign_in(browser, live_server, "sam", "Sam")
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    shot(page, "desk-before")
    watch.check("the desk")

    # Every column fits at 1440 px, the SLA column included, and nothing scrolls sideways.
    sla_header = page.locator("th.column-sla_countdown")
    assert sla_header.is_visible()
    box = sla_header.bounding_box()
    filters = page.locator("#changelist-filter").bounding_box()
    assert box["x"] + box["width"] <= filters["x"]  # not hidden under the filters
    assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    first = page.locator("#result_list tbody tr").first
    breached = desk_data["breached"]
    assert first.locator("th.field-reference a, td.field-reference a").inner_text() == (
        breached.reference
    )
    assert first.locator(".sla-breached").count() == 1
    assert page.locator("a[data-view=unassigned] .desk-count").inner_text() == "7"

    first.locator("a", has_text=breached.reference).click()
    page.wait_for_url(f"**/admin/tickets/ticket/{breached.pk}/change/")
    assert page.locator(".ws-ref").inner_text() == breached.reference
    shot(page, "ticket-before")
    watch.check("the ticket page")

    page.click("button.ws-macro:has-text('Acknowledge')")
    body = page.locator("#composer-body")
    assert body.input_value() == f"Hello Dana Scully, we are looking into {breached.reference} now."
    evidence = tmp_path / "har-capture.txt"
    evidence.write_text("GET /heatmap 200\n")
    page.set_input_files("input[name=attachments]", str(evidence))
    page.click("button[name=_continue]:has-text('Send')")
    page.wait_for_selector(".messagelist")
    watch.check("the ticket page after sending")

    breached.refresh_from_db()
    reply = breached.comments.get()
    assert not reply.internal and reply.attachments.get().filename == "har-capture.txt"
    assert breached.assignee.username == "sam"  # the macro assigns to the agent
    assert page.locator(".ws-conversation li").nth(1).locator("a", has_text="har-capture.txt")

    page.click("summary:has-text('Resolve the ticket')")
    page.fill("textarea[name=resolution]", "The CDN served a stale script; purged.")
    page.click("button[name=_resolve]")
    page.wait_for_selector(".ws-resolution")
    watch.check("the ticket page after resolving")
    breached.refresh_from_db()
    assert breached.status == Status.RESOLVED
    assert breached.resolution == "The CDN served a stale script; purged."
    shot(page, "ticket-after")

    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    shot(page, "desk-after")
    watch.check("the desk after the work")
    assert page.locator("#result_list tbody tr").first.locator("a").first.inner_text() != (
        breached.reference
    )
    context.close()


def test_keyboard_shortcuts_and_the_collision_warning(browser, live_server, desk_data):
    ticket = desk_data["fresh"]
    url = f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/"
    sam_context, sam, sam_watch = sign_in(browser, live_server, "sam", "Sam")
    dora_context, dora, dora_watch = sign_in(browser, live_server, "dora", "Dora")
    sam.goto(url)
    dora.goto(url)

    sam.keyboard.press("?")
    assert sam.locator("#ws-help").is_visible()
    sam.keyboard.press("Escape")
    sam.keyboard.press("n")
    assert sam.locator("#id_comment_internal").is_checked()
    assert sam.evaluate("document.activeElement.id") == "composer-body"

    banner = sam.locator("#ws-presence")
    banner.filter(has_text="Dora also has this ticket open").wait_for(timeout=DEADLINE_MS)
    dora.fill("#composer-body", "Drafting an answer")
    dora.type("#composer-body", ".")
    banner.filter(has_text="Dora is typing").wait_for(timeout=DEADLINE_MS)

    sam.fill("#composer-body", "Draft that must survive")
    sam.locator("body").click(position={"x": 5, "y": 5})
    sam.keyboard.press("a")
    sam.wait_for_selector(".messagelist")
    assert Ticket.objects.get(pk=ticket.pk).assignee.username == "sam"
    assert not ticket.comments.exists()  # taking the ticket sent nothing
    assert sam.locator("#composer-body").input_value() == "Draft that must survive"
    assert sam.locator("#id_comment_internal").is_checked()  # still a note, as before
    sam_watch.check("the ticket page (sam)")
    dora_watch.check("the ticket page (dora)")
    sam_context.close()
    dora_context.close()


def test_a_french_agent_gets_the_desk_and_the_ticket_page_in_french(
    browser, live_server, desk_data
):
    StaffFactory(username="amelie", first_name="Amélie", language="fr")
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    watch = ConsoleWatch(page)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", "amelie")
    page.fill("input[name=password]", "pw-Secret-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    assert page.locator("a[data-view=mine]").inner_text().startswith("Mes tickets ouverts")
    assert page.locator("th.column-subject_cell").inner_text().strip().lower() == "sujet"
    shot(page, "desk-fr")
    watch.check("the French desk")
    page.goto(f"{live_server.url}/admin/tickets/ticket/{desk_data['fresh'].pk}/change/")
    assert page.locator("#ws-audit-title").inner_text() == "Journal d’audit"
    shot(page, "ticket-fr")
    watch.check("the French ticket page")
    context.close()
