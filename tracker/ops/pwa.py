"""The installable app: the web app manifest, the service worker and the page it shows
offline.

The service worker is ``static/sw.js`` served at ``/sw.js``, so that its scope is the
whole site; a line of configuration (the version of the app shell and the URLs it keeps)
goes before it. It keeps the app shell for everyone and the signed-in user's agenda for
reading offline, and drops the agenda when the user signs out.

The kept agenda belongs to one session: the pages of a signed-in session carry its
offline key (``X-Offline-Key`` and ``data-offline-key``), and a cookie that lasts as long
as the session (as long as "keep me signed in" where that was chosen) holds it too. The
worker shows the kept agenda only while the cookie names the key it was kept with:
after the browser is closed without signing out, or once another person signs in, it
is dropped instead of shown. The key is no secret (the worker and the page read it;
the session cookie itself is HttpOnly).
"""

import hashlib
import hmac
import json

from flask import Blueprint, current_app, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.core.paths import STATIC
from tracker.core.web import select_locale

bp = Blueprint("pwa", __name__)

THEME_COLOUR = "#b71c1c"
BACKGROUND_COLOUR = "#f7f9fb"
#: Static files of the app shell, kept by the service worker (with the offline page).
SHELL_FILES = ("style.css", "app.js", "icons/icon-192.png")
#: (file, size, purpose) of the manifest's icons.
ICONS = (("icons/icon-192.png", 192, "any"), ("icons/icon-512.png", 512, "any"),
         ("icons/maskable-512.png", 512, "maskable"))


#: The cookie naming the session the kept agenda belongs to.
OFFLINE_COOKIE = "tracker_offline"


def offline_key() -> str:
    """The signed-in session's offline key: the same for a session restored by "keep me
    signed in", another after signing out and in again (the user id string the session
    holds changes then)."""
    digest = hmac.new(current_app.secret_key.encode(), b"offline:" + session.get(
        "_user_id", "").encode(), hashlib.sha256).hexdigest()
    return digest[:32]


@bp.app_context_processor
def _offline_key_for_templates():
    return {"offline_key": offline_key}


@bp.after_app_request
def _offline_cookie(response):
    """Pages of a signed-in session carry its key (header and cookie); a page for nobody
    takes the cookie away."""
    if response.mimetype != "text/html":
        return response  # files, feeds, downloads: no cookie, and no user loaded for them
    if current_user.is_authenticated:
        key = offline_key()
        response.headers["X-Offline-Key"] = key
        if request.cookies.get(OFFLINE_COOKIE) != key:
            remember = (session.get("_remember") == "set" or current_app.config.get(
                "REMEMBER_COOKIE_NAME", "remember_token") in request.cookies)
            response.set_cookie(
                OFFLINE_COOKIE, key, samesite="Lax", secure=current_app.config.get(
                    "SESSION_COOKIE_SECURE", False),
                max_age=current_app.config["REMEMBER_COOKIE_DURATION"] if remember else None)
    elif OFFLINE_COOKIE in request.cookies:
        response.delete_cookie(OFFLINE_COOKIE, samesite="Lax")
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest, in the visitor's language."""
    body = {
        "id": url_for("calendar.index"),
        "name": _("Work plan tracker"),
        "short_name": _("Work plan"),
        "description": _("Due dates, evidence and progress of the year's work plan."),
        "lang": str(select_locale()).replace("_", "-"),
        "start_url": url_for("calendar.index"),
        "scope": url_for("calendar.index"),
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [{"src": url_for("static", filename=name), "sizes": f"{size}x{size}",
                   "type": "image/png", "purpose": purpose} for name, size, purpose in ICONS],
    }
    response = current_app.response_class(json.dumps(body, ensure_ascii=False),
                                          mimetype="application/manifest+json")
    response.cache_control.no_cache = True
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is every page."""
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    shell = [url_for("static", filename=name) for name in SHELL_FILES]
    config = {
        # A new version (any shell file or the worker changed) makes browsers install the
        # worker again and drop the old shell.
        "version": shell_version(source),
        "shell": shell + [url_for("pwa.offline")],
        "agenda": url_for("calendar.index", view="agenda"),
        "offline": url_for("pwa.offline"),
        "login": url_for("auth.login"),
        "cookie": OFFLINE_COOKIE,
    }
    response = current_app.response_class(
        f"const CONFIG = {json.dumps(config)};\n{source}", mimetype="text/javascript")
    # Browsers check for a new worker on every visit; nothing may keep an old one.
    response.cache_control.no_cache = True
    return response


@bp.get("/offline")
def offline():
    """What a page opened offline shows when no copy of it is kept on the device."""
    return render_template("offline.html")


def shell_version(worker_source: str) -> str:
    """A short digest of the service worker and the shell files it keeps."""
    digest = hashlib.sha256(worker_source.encode())
    for name in SHELL_FILES:
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:16]
