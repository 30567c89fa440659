"""A served app and Debian's Chromium driven by Playwright (never a downloaded browser).

Where Chromium or Playwright is missing the browser tests skip with the reason,
unless TRACKER_TEST_REQUIRE_BROWSER=1 (as .ci/run sets), where they fail.
"""

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("TRACKER_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("TRACKER_TEST_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _unavailable(reason):
    if REQUIRE:
        pytest.fail(f"{reason} (TRACKER_TEST_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(f"{reason}; install Debian's chromium to run the browser tests")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def backend():
    """Browser tests run on SQLite only: the database layer is covered elsewhere."""
    return "sqlite"


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page_for(browser, request):
    """``page_for(name)``: a new browser context and page; console errors are collected
    and fail the test; ``shot(label)`` keeps a screenshot under test-artifacts/."""
    contexts, errors = [], []

    def make(name, locale="zh-CN"):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and errors.append(
            f"{name}: {msg.text}"))
        page.on("pageerror", lambda exc: errors.append(f"{name}: {exc}"))

        def shot(label):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}-{label}.png"),
                            full_page=True)

        page.shot = shot
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], errors
