"""Downloads under ``tracker serve`` (gunicorn), with real HTTP requests: a file named in
Chinese is a download, not a 500 (Content-Disposition per RFC 6266)."""

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.test_wheel import _free_port, _get

TRACKER = str(Path(sys.executable).parent / "tracker")
PASSWORD = "correct horse battery"


@pytest.mark.parametrize("name, expected", [
    ("tasks-2026.ics", 'attachment; filename="tasks-2026.ics"'),
    ("洋溢村.ics", "attachment; filename=\"download.ics\"; "
                 "filename*=UTF-8''%E6%B4%8B%E6%BA%A2%E6%9D%91.ics"),
    ("résumé.pdf", "attachment; filename=\"resume.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"),
    ('a"b;c\r\n.pdf', "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%3Bc%0D%0A.pdf"),
])
def test_content_disposition(name, expected):
    from tracker.core.web import content_disposition

    value = content_disposition(name)
    assert value == expected
    value.encode("latin-1")  # what a header may carry


@pytest.fixture
def served(tmp_path):
    """``tracker serve`` on a SQLite database with a unit named in Chinese, its manager
    and the bundled plan; yields the base URL."""
    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance"),
           "TRACKER_SECRET_KEY": "serve-test", "PYTHONDONTWRITEBYTECODE": "1"}

    def run(*args, stdin=None):
        subprocess.run([TRACKER, *args], check=True, env=env, input=stdin, text=True,
                       capture_output=True, cwd=tmp_path)

    run("init-db")
    run("unit", "add", "洋溢村党总支", "--kind", "village")
    run("user", "add", "manager@example.org", "--role", "manager", "--unit", "洋溢村党总支",
        "--password-stdin", stdin=PASSWORD + "\n")
    run("plan", "load", "shuyuan-2020", "--year", "2026")
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")  # gunicorn's access log (stdout)
    server = subprocess.Popen([TRACKER, "serve", "--bind", f"127.0.0.1:{port}",
                               "--workers", "1"], env=env, cwd=tmp_path,
                              stdout=log, stderr=subprocess.PIPE)
    try:
        _get(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
        log.close()
    assert b"Traceback" not in errors, errors.decode(errors="replace")


def test_the_calendar_download_of_a_unit_named_in_chinese(served):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(f"{served}/login", timeout=10).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": "manager@example.org",
                                   "password": PASSWORD}).encode()
    assert opener.open(f"{served}/login", form, timeout=10).url == f"{served}/"

    query = urllib.parse.urlencode({"year": 2026, "unit": "洋溢村党总支"})
    with opener.open(f"{served}/calendar/export.ics?{query}", timeout=10) as response:
        assert response.status == 200
        disposition = response.headers["Content-Disposition"]
        body = response.read()
    assert disposition == ("attachment; filename=\"tasks--2026.ics\"; filename*=UTF-8''tasks-"
                           + urllib.parse.quote("洋溢村党总支") + "-2026.ics")
    assert body.startswith(b"BEGIN:VCALENDAR")


def test_the_access_log_never_holds_a_feed_or_unsubscribe_token(served, tmp_path):
    """A calendar feed's address is its only credential: gunicorn's access log writes
    the path without it (and so for the unsubscribe links of mails)."""
    feed, unsubscribe = "Zq3-secretFeedToken_0123456789", "eyJ1Ijo1fQ.secretUnsub.sig"
    for path in (f"/feeds/{feed}.ics?year=2026", f"/unsubscribe/{unsubscribe}"):
        try:
            urllib.request.urlopen(f"{served}{path}", timeout=10).close()
        except urllib.error.HTTPError as error:
            assert error.code in (404, 400)
    _get(f"{served}/healthz")  # the log line of the last request is written by now
    log = (tmp_path / "serve.log").read_text()
    assert "GET /feeds/[redacted].ics?year=2026" in log, log
    assert "GET /unsubscribe/[redacted]" in log, log
    assert "secret" not in log, log


def test_the_apps_own_log_lines_never_hold_a_token(app, caplog):
    """Flask logs a failed request's path ("Exception on /feeds/… [GET]"), Werkzeug's
    development server every request line: both without the token."""
    import logging

    with caplog.at_level(logging.INFO):
        app.logger.error("Exception on %s [%s]", "/feeds/s3cretFeed.ics", "GET")
        logging.getLogger("werkzeug").info('"GET /unsubscribe/s3cret.x.y HTTP/1.1" 200 -')
    assert "/feeds/[redacted].ics" in caplog.text and "/unsubscribe/[redacted]" in caplog.text
    assert "s3cret" not in caplog.text
