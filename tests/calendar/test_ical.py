"""The pure .ics builder: content, text round trips, determinism and the component cache."""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import icalendar
import pytest

from tracker.calendar import ical
from tests.calendar.conftest import parse_ics

CHANGED = datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=timezone.utc)
TODAY = date(2026, 7, 2)
INFO = ical.CalendarInfo(name="工作任务 · 洋溢村党总支", timezone="Asia/Shanghai")
OPTIONS = ical.FeedOptions(host="tracker.example.org")
#: A long Chinese title with every character iCalendar escapes, and a newline.
TRICKY = ("关于落实意识形态工作责任制的专题会议, 第一次; 材料目录 C:\\资料\\2026\n第二行："
          "党组织专题研究意识形态工作，确保每年至少两次；" * 3)


def entry(id=1, **changes) -> ical.TaskEntry:
    values = dict(id=id, unit="洋溢村党总支", title="班子集中学习研讨（两委成员学习日）（第3次，共6次）",
                  due=date(2026, 7, 31), status="open",
                  url=f"https://tracker.example.org/tasks/{id}", updated_at=CHANGED,
                  sequence=0, phase_code="P2", phase_title="协同推进阶段",
                  evidence=("学习会议记录", "情况说明（500字以内）"),
                  title_en="Committee study session (3/6)")
    values.update(changes)
    return ical.TaskEntry(**values)


PHASE = ical.PhaseEntry(key="shuyuan-2020-2026-P1", code="P1", title="谋划部署阶段",
                        start=date(2026, 2, 1), end=date(2026, 4, 30), updated_at=CHANGED,
                        description="制定意识形态工作责任制工作方案。")


def build(entries, phases=(PHASE,), today=TODAY, options=OPTIONS, cache=None) -> bytes:
    return ical.build_calendar(list(entries), list(phases), INFO, today, options, cache)


def test_a_task_is_an_all_day_event_with_everything_a_calendar_shows():
    parsed = parse_ics(build([entry(sequence=2)]))
    (event,) = parsed.tasks()
    assert event["UID"] == "task-1@tracker.example.org"
    assert event["DTSTART"].to_ical() == b"20260731"
    assert event["DTSTART"].params["VALUE"] == "DATE"
    assert event["DTEND"].to_ical() == b"20260801"
    # The task's last change, not the moment of export.
    assert event["DTSTAMP"].to_ical() == b"20260302T083015Z"
    assert event["LAST-MODIFIED"].to_ical() == b"20260302T083015Z"
    assert event["SEQUENCE"] == 2
    assert event["SUMMARY"] == "【洋溢村党总支】班子集中学习研讨（两委成员学习日）（第3次，共6次）"
    assert event["URL"] == "https://tracker.example.org/tasks/1"
    assert event.categories == ["协同推进阶段"]
    description = str(event["DESCRIPTION"])
    assert "学习会议记录" in description and "情况说明（500字以内）" in description
    assert "https://tracker.example.org/tasks/1" in description
    assert event["TRANSP"] == "TRANSPARENT"
    assert not event.walk("VALARM")


def test_the_calendar_names_itself_and_says_how_often_to_refresh():
    data = build([entry()])
    parsed = parse_ics(data)
    cal = parsed.calendar
    assert cal["X-WR-CALNAME"] == "工作任务 · 洋溢村党总支"
    assert cal["X-WR-TIMEZONE"] == "Asia/Shanghai"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"\r\nX-PUBLISHED-TTL:PT1H\r\n" in data
    assert cal.refresh_interval == timedelta(hours=1)
    assert b"METHOD" not in data  # a published calendar: DTSTAMP is the last revision


def test_a_phase_is_a_multi_day_all_day_event():
    parsed = parse_ics(build([entry()]))
    phase = parsed.by_uid()["phase-shuyuan-2020-2026-P1@tracker.example.org"]
    assert phase["DTSTART"].to_ical() == b"20260201"
    assert phase["DTEND"].to_ical() == b"20260501"  # the day after the last day
    assert "谋划部署阶段" in phase["SUMMARY"]


@pytest.mark.parametrize("status, due, mark", [
    ("accepted", date(2026, 6, 30), "✓"),
    ("submitted", date(2026, 6, 30), "✓"),
    ("returned", date(2026, 7, 20), "↩"),
    ("returned", date(2026, 6, 30), "⚠"),  # returned and late: overdue wins
    ("open", date(2026, 7, 1), "⚠"),
    ("open", TODAY, ""),  # due today is not late yet
    ("cancelled", date(2026, 6, 30), "✗"),
])
def test_summary_marks_the_state_seen_on_today(status, due, mark):
    (event,) = parse_ics(build([entry(status=status, due=due)])).tasks()
    summary = str(event["SUMMARY"])
    if mark:
        assert summary.startswith(f"{mark} 【洋溢村党总支】")
    else:
        assert summary.startswith("【洋溢村党总支】")
    assert ("已逾期" in str(event["DESCRIPTION"])) == (mark == "⚠")


def test_overdue_follows_the_today_parameter_not_the_clock():
    task = entry(due=date(2026, 6, 30))
    before = build([task], today=date(2026, 6, 30))
    after = build([task], today=date(2026, 7, 1))
    assert "⚠" not in before.decode() and "⚠" in after.decode()


def test_a_long_chinese_title_with_escaped_characters_round_trips_unchanged():
    data = build([entry(title=TRICKY, description=TRICKY)])
    assert max(len(line) for line in data.split(b"\r\n")) <= 75
    parsed = parse_ics(data)  # icalendar, vobject and ics agree on the text
    (event,) = parsed.tasks()
    assert str(event["SUMMARY"]) == f"【洋溢村党总支】{TRICKY}"
    assert TRICKY in str(event["DESCRIPTION"])
    vevent = next(c for c in parsed.vobject.components() if c.uid.value.startswith("task-"))
    assert vevent.summary.value == f"【洋溢村党总支】{TRICKY}"
    assert TRICKY in vevent.description.value
    (ics_event,) = [e for e in parsed.ics.events if e.uid.startswith("task-")]
    assert ics_event.name == f"【洋溢村党总支】{TRICKY}"


def test_the_same_data_gives_the_same_bytes():
    entries = [entry(id=i) for i in range(1, 30)]
    assert build(entries) == build(entries)
    assert build(entries, cache=ical.ComponentCache()) == build(entries)


def test_the_built_bytes_are_icalendars_own_serialisation_of_the_whole_calendar():
    entries = [entry(id=1), entry(id=2, status="accepted", completed_at=CHANGED)]
    head, tail = ical.calendar_shell(INFO)
    calendar = icalendar.Calendar.from_ical(head + tail)
    calendar.add_component(ical.phase_component(PHASE, OPTIONS))
    for task in entries:
        calendar.add_component(ical.task_component(task, TODAY, OPTIONS))
    assert build(entries) == calendar.to_ical()


def test_alarms_only_when_asked_only_for_pending_tasks_and_never_email():
    entries = [entry(id=1), entry(id=2, status="accepted")]
    assert b"VALARM" not in build(entries)
    data = build(entries, options=replace(OPTIONS, alarm=True))
    assert b"ACTION:EMAIL" not in data
    parsed = parse_ics(data)
    by_uid = parsed.by_uid()
    (alarm,) = by_uid["task-1@tracker.example.org"].walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == -timedelta(hours=15)  # 09:00 the day before
    assert not by_uid["task-2@tracker.example.org"].walk("VALARM")


def test_the_todo_variant_has_due_status_and_completed():
    entries = [entry(id=1), entry(id=2, status="accepted", completed_at=CHANGED),
               entry(id=3, status="cancelled")]
    data = build(entries, options=replace(OPTIONS, kind="todo", alarm=True))
    parsed = parse_ics(data)
    todos = {str(t["UID"]): t for t in parsed.tasks("VTODO")}
    assert len(todos) == 3 and not parsed.tasks("VEVENT")
    first, done, cancelled = (todos[f"task-{i}@tracker.example.org"] for i in (1, 2, 3))
    assert first["DUE"].to_ical() == b"20260731" and "DTSTART" not in first
    assert first["STATUS"] == "NEEDS-ACTION"
    assert first.walk("VALARM")[0]["TRIGGER"].params["RELATED"] == "END"
    assert done["STATUS"] == "COMPLETED"
    assert done["COMPLETED"].to_ical() == b"20260302T083015Z"
    assert cancelled["STATUS"] == "CANCELLED"
    assert {t.uid for t in parsed.ics.todos} == set(todos)


def test_the_cache_rebuilds_only_what_changed_and_never_serves_a_stale_component():
    cache = ical.ComponentCache()
    entries = [entry(id=i) for i in range(1, 11)]
    first = build(entries, cache=cache)
    assert (cache.hits, cache.misses) == (0, 10)
    assert build(entries, cache=cache) == first
    assert (cache.hits, cache.misses) == (10, 10)

    entries[4] = replace(entries[4], title="新标题", sequence=1,
                         updated_at=CHANGED + timedelta(hours=1))
    changed = build(entries, cache=cache)
    assert (cache.hits, cache.misses) == (19, 11)
    assert changed == build(entries)  # as built without any cache
    event = parse_ics(changed).by_uid()["task-5@tracker.example.org"]
    assert event["SUMMARY"] == "【洋溢村党总支】新标题" and event["SEQUENCE"] == 1

    # A change the key's usual suspects would miss (same updated_at, same status)
    # still shows: the whole entry is the version.
    entries[5] = replace(entries[5], unit="改名后的单位")
    assert "改名后的单位" in build(entries, cache=cache).decode()
    # The day moving past the due date changes the mark, through the cache too.
    late = build(entries, today=date(2026, 8, 1), cache=cache)
    assert late == build(entries, today=date(2026, 8, 1))
    assert "⚠" in late.decode()


def test_the_cache_is_bounded():
    cache = ical.ComponentCache(max_items=5)
    build([entry(id=i) for i in range(1, 21)], cache=cache)
    assert len(cache) == 5


def test_a_naive_instant_is_refused():
    with pytest.raises(ValueError):
        build([entry(updated_at=datetime(2026, 3, 2, 8, 30))])
