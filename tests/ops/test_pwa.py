"""The manifest, the service worker and the offline page as the server sends them (the
browser's side: tests/browser/test_pwa.py)."""

import json

import pytest

from tracker.core.paths import STATIC


@pytest.mark.parametrize("language, name", [("zh-CN", "工作计划跟踪系统"),
                                            ("en", "Work plan tracker")])
def test_the_manifest_speaks_the_visitors_language(client, language, name):
    response = client.get("/manifest.webmanifest", headers={"Accept-Language": language})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.text)
    assert manifest["name"] == name and manifest["lang"] == language
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    for icon in manifest["icons"]:
        assert (STATIC / icon["src"].removeprefix("/static/")).is_file()
    assert "Accept-Language" in response.headers["Vary"]


def test_every_page_links_the_manifest(client, town, login):
    for url in ("/login", "/logout", "/offline"):
        assert '<link rel="manifest" href="/manifest.webmanifest">' in client.get(url).text
    login(client, town.users.manager)
    for url in ("/", "/tasks", "/settings", f"/assessment/{town.year}/units/{town.units.a.id}/print"):
        assert '<link rel="manifest" href="/manifest.webmanifest">' in client.get(url).text


def test_the_worker_is_served_at_the_root_without_inline_script(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response.headers["Cache-Control"]
    config = json.loads(response.text.splitlines()[0].removeprefix("const CONFIG = ")
                        .removesuffix(";"))
    assert config["agenda"] == "/?view=agenda" and config["offline"] == "/offline"
    assert "/static/style.css" in config["shell"] and len(config["version"]) == 16
    # A changed shell file is a new worker, which browsers install.
    page = client.get("/login")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.text and '<script src="/static/app.js"' in page.text


def test_a_changed_shell_file_changes_the_worker(client, monkeypatch, tmp_path):
    from tracker.ops import pwa

    before = client.get("/sw.js").text
    for name in pwa.SHELL_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((STATIC / name).read_bytes())
    (tmp_path / "sw.js").write_bytes((STATIC / "sw.js").read_bytes())
    (tmp_path / "style.css").write_text("body { color: red }")
    monkeypatch.setattr(pwa, "STATIC", tmp_path)
    assert client.get("/sw.js").text != before


def test_sign_out_asks_the_browser_to_drop_what_it_kept(app, client, town, login):
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, town.users.manager)
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # Chromium drops Cache Storage (the kept agenda) for "storage", not for "cache".
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "Clear-Site-Data" not in client.get("/logout").headers


def _offline_cookie(response):
    """The Set-Cookie header of the offline key, or None."""
    return next((value for value in response.headers.getlist("Set-Cookie")
                 if value.startswith("tracker_offline=")), None)


@pytest.mark.parametrize("remember", [False, True])
def test_the_kept_agenda_is_tied_to_the_session(app, client, town, remember):
    """A signed-in session's pages carry its offline key (header, page, and a cookie that
    ends with the browser session, or lasts with "keep me signed in"); sign-out takes the
    cookie away, and the next session has another key: the worker shows a kept agenda only
    to the session it was kept for (the browser's side: tests/browser/test_pwa.py)."""
    app.config["WTF_CSRF_ENABLED"] = False
    form = {"email": "manager@example.org", "password": "correct horse battery"}
    if remember:
        form["remember"] = "y"
    signed_in = client.post("/login", data=form)
    assert signed_in.status_code == 302
    cookie = _offline_cookie(signed_in)
    agenda = client.get("/?view=agenda")
    key = agenda.headers["X-Offline-Key"]
    if cookie is None:  # set on the first page instead
        cookie = _offline_cookie(agenda)
    assert cookie.startswith(f"tracker_offline={key};") and len(key) == 32
    assert ("Max-Age=2592000" in cookie) == remember and "HttpOnly" not in cookie
    assert f'data-offline-key="{key}"' in agenda.text
    for url in ("/static/app.js", "/manifest.webmanifest", "/sw.js"):
        response = client.get(url)
        assert "X-Offline-Key" not in response.headers and _offline_cookie(response) is None
        response.close()
    signed_out = client.post("/logout")
    assert _offline_cookie(signed_out).startswith('tracker_offline=; Expires=Thu, 01 Jan 1970')
    assert "X-Offline-Key" not in client.get("/login").headers
    client.post("/login", data=form)
    assert client.get("/?view=agenda").headers["X-Offline-Key"] != key


def test_the_worker_shows_a_kept_agenda_only_to_its_session(client):
    source = client.get("/sw.js").text
    assert '"cookie": "tracker_offline"' in source
    assert 'cookieStore.get(CONFIG.cookie)' in source and 'headers.get("X-Offline-Key")' in source
