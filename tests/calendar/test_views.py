"""The calendar pages (month, week, agenda; the town's counts), their .ics download, and
the feed link on the settings page."""

import re

import pytest
import sqlalchemy as sa

from tracker.extensions import db
from tracker.tasks.models import Task

#: Task titles are checked in Chinese, the plan's own language.
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_month_week_and_agenda(client, town, login):
    login(client, town.users.manager)
    june = client.get("/", query_string={"date": f"{town.year}-06-10"}, headers=ZH)
    assert june.status_code == 200
    assert "班子集中学习研讨（两委成员学习日）（第3次，共6次）" in june.text
    assert "协同推进阶段" in june.text  # the phase band
    week = client.get("/", query_string={"view": "week", "date": f"{town.year}-06-29"},
                      headers=ZH)
    assert "上半年意识形态工作自查" in week.text
    assert "班子集中学习研讨（两委成员学习日）（第2次" not in week.text
    agenda = client.get("/", query_string={"view": "agenda", "date": f"{town.year}-06-01"},
                        headers=ZH)
    assert "上半年意识形态工作自查" in agenda.text
    assert 'class="today-mark"' in client.get("/", headers=ZH).text
    # The month in each language's own form.
    assert f"<h1>{town.year}年6月</h1>" in june.text
    english = client.get("/", query_string={"date": f"{town.year}-06-10"})
    assert f"<h1>June {town.year}</h1>" in english.text


def test_town_calendar_counts_units_per_duty(client, town, login):
    login(client, town.users.admin)
    page = client.get("/", query_string={"date": f"{town.year}-06-10"}, headers=ZH)
    # Two branches share each unit duty: one entry with a count, not two rows (in the
    # grid; phones see the same entries again as a list below it).
    grid = page.text[page.text.index('<table class="calendar'):page.text.index("</table>")]
    assert grid.count("班子集中学习研讨（两委成员学习日）（第3次，共6次）") == 1
    days = page.text[page.text.index('class="agenda month-agenda"'):]
    assert days.count("班子集中学习研讨（两委成员学习日）（第3次，共6次）") == 1
    unit_view = client.get("/", query_string={"date": f"{town.year}-06-10",
                                              "unit": town.units.a.id}, headers=ZH)
    assert "洋溢村党总支" in unit_view.text


@pytest.mark.parametrize("query", [{"date": "2026-13-01"}, {"view": "year"},
                                   {"status": "finished"}, {"unit": "x"}, {"year": "1800"},
                                   {"date": "1900-01-01"}])
def test_bad_query_arguments_are_400(client, town, login, query):
    login(client, town.users.admin)
    response = client.get("/", query_string=query)
    assert response.status_code == 400


def test_the_calendar_offers_its_view_as_ics(client, town, login):
    from icalendar import Calendar

    login(client, town.users.admin)
    page = client.get("/", query_string={"unit": town.units.a.id, "phase": "P2",
                                         "date": f"{town.year}-05-01"})
    link = re.search(r'class="download" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    events = [c for c in Calendar.from_ical(response.data).walk("VEVENT")
              if str(c.get("UID", "")).startswith("task-")]
    expected = db.session.scalar(sa.select(sa.func.count()).select_from(Task).where(
        Task.unit_id == town.units.a.id, Task.year == town.year,
        Task.phase.has(code="P2")))
    assert len(events) == expected > 0


def test_calendar_link_made_shown_once_and_revoked(client, town, login):
    login(client, town.users.manager)
    assert "You have no calendar link" in client.get("/settings").text
    page = client.post("/settings/feed").text
    url = re.search(r'value="(http[^"]+/feeds/[^"]+\.ics)"', page).group(1)
    assert "webcal://" in page and "<svg" in page
    path = url.split("://", 1)[1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200
    settings = client.get("/settings").text
    assert "A link has been active since" in settings and url not in settings
    client.post("/settings/feed/revoke")
    assert client.get("/" + path).status_code == 404
