"""The real headless Chromium every browser test drives (Debian's, never a downloaded one)."""

import os

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling out to a closed network.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def launched():
    """A generator for a fixture: Chromium up for the fixture's scope, closed after it."""
    from playwright import sync_api

    # Playwright's sync API runs an event loop in this thread; the live server's ORM calls
    # and our fixtures are ordinary synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()
