"""A served app and Debian's Chromium driven by Playwright (never a downloaded browser).

Where Chromium or Playwright is missing the browser tests skip with the reason,
unless TRACKER_TEST_REQUIRE_BROWSER=1 (as .ci/run sets), where they fail. The same
goes for axe-core, which the accessibility checks inject into pages: it comes from the
npm registry into tests/browser/node_modules (git-ignored), installed once by ``npm ci``
from tests/browser/package-lock.json when it is not there yet.
"""

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("TRACKER_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("TRACKER_TEST_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
#: Phones from 360 to 430 px wide; 390 x 844 is the one every page is checked at.
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
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


@pytest.fixture(scope="session")
def axe_source():
    """axe-core's source, to inject into pages (installed by ``npm ci`` when missing)."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("axe-core is not installed in tests/browser/node_modules and there "
                         "is no npm to install it")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
                              cwd=HERE, capture_output=True, text=True, timeout=300)
        if done.returncode or not AXE.is_file():
            _unavailable(f"npm ci in tests/browser failed: {done.stderr.strip()[-500:]}")
    return AXE.read_text(encoding="utf-8")


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
    and fail the test; ``shot(label)`` keeps a screenshot under test-artifacts/.

    ``phone=True`` makes it a phone (390 x 844, touch); ``viewport`` sets another size.
    A test that opens an error page on purpose adds its URL to ``page.expected_errors``:
    the browser's "Failed to load resource" for that URL is then no error.
    """
    contexts, errors = [], []

    def make(name, locale="zh-CN", viewport=None, phone=False):
        # A phone: the viewport meta tag applies, touch events exist.
        context = browser.new_context(
            locale=locale, viewport=viewport or ({**PHONE} if phone else
                                                 {"width": 1280, "height": 900}),
            is_mobile=phone, has_touch=phone)
        contexts.append(context)
        page = context.new_page()
        page.expected_errors = set()
        page.on("console", lambda msg: msg.type == "error" and errors.append(
            (page, msg.location.get("url"), f"{name}: {msg.text} ({msg.location.get('url')})")
        ))
        page.on("pageerror", lambda exc: errors.append((page, None, f"{name}: {exc}")))

        def shot(label):
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{name}-{label}.png"),
                            full_page=True)

        page.shot = shot
        return page

    yield make
    for context in contexts:
        context.close()
    errors = [text for page, url, text in errors if url not in page.expected_errors]
    assert errors == [], errors
