"""The app on a phone's home screen: its manifest, and the service worker that keeps the
signed-in user's agenda for reading offline and drops it at sign-out."""

import io
import time

import sqlalchemy as sa
from PIL import Image

from tests.browser.test_flow import sign_in
from tracker.core.web import today
from tracker.extensions import db
from tracker.tasks.models import Task

AGENDA = "/?view=agenda"


def kept(page, cache="private") -> list[str] | None:
    """The paths kept in a cache of the service worker (None: no such cache)."""
    return page.evaluate("""async (name) => {
        if (!(await caches.has(name))) return null;
        const cache = await caches.open(name);
        return (await cache.keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search);
    }""", cache)


def wait_for(check, seconds=15):
    """``check()``'s value once it is truthy; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"still {value!r} after {seconds} s"
            return value
        time.sleep(0.1)


def shell_cache(page) -> str | None:
    """The name of the worker's shell cache (None while there is none)."""
    return next((name for name in page.evaluate("caches.keys()") if name.startswith("shell-")),
                None)


def test_the_manifest_makes_the_app_installable(live_server, town, page_for):
    page = page_for("phone", phone=True)
    page.goto(f"{live_server}/login")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert page.locator("meta[name=theme-color]").get_attribute("content") == "#b71c1c"
    response = page.request.get(live_server + href)
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == "工作计划跟踪系统" and manifest["short_name"]
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#b71c1c" and manifest["background_color"]
    sizes = {}
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(page.request.get(live_server + icon["src"]).body()))
        assert image.format == "PNG" and icon["sizes"] == f"{image.width}x{image.height}"
        sizes.setdefault(image.width, set()).add(icon["purpose"])
    assert {"any"} <= sizes[192] and {"any", "maskable"} <= sizes[512]

    # Chromium's own reading of it: no errors, and nothing stands in the way of
    # installing the app once the service worker controls the page.
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    cdp = page.context.new_cdp_session(page)
    read = cdp.send("Page.getAppManifest")
    assert read["url"].endswith("/manifest.webmanifest") and read["errors"] == []
    errors = {e["errorId"] for e in cdp.send("Page.getInstallabilityErrors")[
        "installabilityErrors"]}
    assert errors - {"in-incognito"} == set()  # (Playwright's contexts are incognito)


def test_the_agenda_is_kept_for_offline_reading_and_dropped_at_sign_out(live_server, town,
                                                                        page_for):
    soon = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.a.id,
                                                   Task.due_date >= today())
                             .order_by(Task.due_date))
    page = page_for("manager", phone=True)
    sign_in(page, live_server, "manager@example.org")
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)") == \
        f"{live_server}/"
    wait_for(lambda: kept(page) == [AGENDA])
    shell = kept(page, shell_cache(page))
    assert {"/static/style.css", "/static/app.js", "/offline"} <= set(shell)

    page.context.set_offline(True)
    page.goto(f"{live_server}{AGENDA}")
    assert page.locator(".agenda .item", has_text=soon.title).count() >= 1
    assert page.locator(".offline-note").is_visible()
    page.goto(f"{live_server}/tasks")  # not kept: the agenda stands in
    assert page.locator(".agenda .item", has_text=soon.title).count() >= 1
    page.context.set_offline(False)

    page.goto(f"{live_server}/tasks")
    assert not page.locator(".offline-note").is_visible()
    page.click("summary")  # the menu, on a phone
    page.click("form[data-signout] button")
    page.wait_for_url(f"{live_server}/login")
    wait_for(lambda: kept(page) is None)
    # Clear-Site-Data "storage" also took the worker and the shell; the sign-in page has
    # them back (and only them).
    page.evaluate("navigator.serviceWorker.ready")
    wait_for(lambda: "/offline" in (kept(page, shell_cache(page)) or []))
    assert kept(page) is None
    page.context.set_offline(True)
    page.goto(f"{live_server}{AGENDA}")
    assert page.locator("h1").inner_text() in ("离线", "Offline")
    assert page.locator(".item").count() == 0
    page.context.set_offline(False)


def test_an_ended_session_drops_the_kept_agenda_too(live_server, town, page_for):
    """Signed out elsewhere, or the session ran out: the next page shown to nobody has
    the worker drop the agenda."""
    page = page_for("manager", phone=True)
    sign_in(page, live_server, "manager@example.org")
    wait_for(lambda: kept(page) == [AGENDA])
    page.context.clear_cookies()
    page.goto(f"{live_server}/")
    page.wait_for_url(f"{live_server}/login?next=%2F")
    wait_for(lambda: kept(page) is None)



def test_a_browser_closed_without_signing_out_shows_no_kept_agenda(live_server, town,
                                                                   page_for):
    """The browser closed without signing out (its session cookies gone, nobody signed
    in), then offline: the kept agenda is the ended session's, so the offline page is
    shown and the copy dropped, not the previous person's agenda."""
    soon = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.a.id,
                                                   Task.due_date >= today())
                             .order_by(Task.due_date))
    page = page_for("manager", phone=True)
    sign_in(page, live_server, "manager@example.org")
    wait_for(lambda: kept(page) == [AGENDA])
    page.context.clear_cookies()  # what closing the browser does to session cookies
    page.context.set_offline(True)
    page.goto(f"{live_server}{AGENDA}")
    assert page.locator("h1").inner_text() in ("离线", "Offline")
    assert page.locator(".agenda .item", has_text=soon.title).count() == 0
    wait_for(lambda: kept(page) is None)
    page.context.set_offline(False)
