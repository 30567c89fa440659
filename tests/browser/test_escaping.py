"""Markup stored in every text field runs nothing in a real browser."""

from tests.browser.test_flow import sign_in
from tests.hostile import pages


def test_stored_markup_runs_nothing_in_the_browser(live_server, hostile_town, page_for):
    page = page_for("admin")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, live_server, "admin@example.org")
    visited = 0
    for url in pages(hostile_town):
        if url.startswith(("/feeds/", "/calendar/export", "/static/", "/healthz",
                           "/reminders/unsubscribe/", "/manifest.webmanifest", "/sw.js")) \
                or "/evidence/" in url or "/inputs/" in url or "export." in url \
                or "999999" in url \
                or url.endswith((".toml", ".pdf")) or "/schedule?" in url \
                or url.startswith(("/survey/", "/binder/jobs/")):
            continue  # downloads, data and missing pages, not pages that show the markup
        page.goto(live_server + url)
        visited += 1
        assert page.locator("i.xss, img[src=x], script:not([src])").count() == 0, url
    assert dialogs == [] and visited > 20
    page.goto(f"{live_server}/assessment")
    assert page.get_by_text("units.name#", exact=False).count() > 0  # shown, as text
