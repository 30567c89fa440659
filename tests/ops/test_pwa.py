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
