"""Benchmark: the coordinator's calendar feed for one year of the bench town.

Against plain icalendar serialisation of the same events, built naively (one
Calendar holding every component, ``to_ical()``) in the same run:

(a) a first build, nothing cached or stored (reading the database and storing each task's
    component included): within 1.5x of naive;
(a2) a cold build in a new process (nothing cached in memory) with the components stored
    in the database (feed_components): at most 0.3x naive;
(b) the build after one task changed (per-task components cached): at least 5x faster;
(c) a request when nothing changed, through the Flask test client with
    If-None-Match: a 304 that builds nothing, in at most 20 ms.

The coordinator's default feed, one event per duty and day (the town feed):
(d) its size: at most 300 KiB;
(e) its cold build: at most 0.2x the naive build of one event per task;
(f) its 304, as (c).

    python3 dev.py bench          # or: .venv/bin/python bench/bench_ical.py
"""

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_town, bench_app, report, temp_dir  # noqa: E402

UNITS = 300
YEAR = 2026
NOW = datetime(2026, 1, 5, tzinfo=timezone.utc)
RUNS = 3
CHANGED_RUNS = 5
REQUEST_RUNS = 30


def naive_build(data, info, today, options) -> bytes:
    """Plain icalendar: every component in one Calendar, serialised at once."""
    import icalendar

    from tracker.calendar import ical

    head, tail = ical.calendar_shell(info)
    calendar = icalendar.Calendar.from_ical(head + tail)
    for phase in data.phases:
        calendar.add_component(ical.phase_component(phase, options))
    for task in data.tasks:
        calendar.add_component(ical.task_component(task, today, options))
    return calendar.to_ical()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main():
    import sqlalchemy as sa

    from tracker.auth.models import Role
    from tracker.auth.services import create_user
    from tracker.calendar import ical
    from tracker.calendar.queries import (FeedFilters, calendar_name, export_ics,
                                          export_town_ics, feed_data, feed_options)
    from tracker.calendar.models import FeedComponent
    from tracker.calendar.services import issue_token
    from tracker.core.timeutil import local_today, utcnow
    from tracker.extensions import db
    from tracker.phases.planfile import read_plan
    from tracker.tasks.loading import load_plan
    from tracker.tasks.models import Task
    from tracker.tasks.scope import task_scope

    with temp_dir() as tmp:
        app = bench_app(tmp)
        with app.app_context():
            add_town(UNITS)
            load_plan(read_plan("shuyuan-2020"), YEAR, NOW)
            admin = create_user("coordinator@example.org", Role.ADMIN, "bench password 1")
            secret = issue_token(admin, NOW)
            db.session.commit()

            scope, filters, name = task_scope(admin), FeedFilters(), calendar_name()
            options = feed_options()
            today = local_today(utcnow(), app.config["TIMEZONE"])
            data = feed_data(scope, filters, today, app.config["BASE_URL"])
            info = ical.CalendarInfo(name=name, timezone=data.timezone)
            events = len(data.tasks) + len(data.phases)

            naive_times, cold_times, stored_times = [], [], []
            for _ in range(RUNS):
                naive, seconds = timed(lambda: naive_build(data, info, today, options))
                naive_times.append(seconds)
                # Nothing stored, nothing cached: every component is built and stored.
                db.session.execute(sa.delete(FeedComponent))
                db.session.commit()
                cache = ical.ComponentCache()
                cold, seconds = timed(lambda: (export_ics(scope, filters, options, name, today,
                                                          cache=cache), db.session.commit())[0])
                cold_times.append(seconds)
                assert cold == naive, "the feed differs from icalendar's own serialisation"
                # A new process (nothing cached in memory), the components stored.
                cache = ical.ComponentCache()
                stored, seconds = timed(lambda: export_ics(scope, filters, options, name, today,
                                                           cache=cache))
                stored_times.append(seconds)
                assert stored == naive
            naive_s, cold_s = statistics.median(naive_times), statistics.median(cold_times)
            stored_s = statistics.median(stored_times)

            # (b): the cache is warm; change one task at a time and build again.
            tasks = db.session.scalars(
                sa.select(Task).order_by(Task.id).offset(1000).limit(CHANGED_RUNS)).all()
            changed_times = []
            for i, task in enumerate(tasks):
                task.title = f"{task.title}（改{i}）"
                task.updated_at = utcnow()
                db.session.commit()
                misses = cache.misses
                body, seconds = timed(lambda: export_ics(scope, filters, options, name, today,
                                                         cache=cache))
                changed_times.append(seconds)
                assert cache.misses == misses + 1 and f"（改{i}）".encode() in body
            changed_s = statistics.median(changed_times)

            # (c): through the app, as a calendar app polls.
            client = app.test_client()
            path = f"/feeds/{secret}.ics?detail=units"
            first = client.get(path)
            assert first.status_code == 200
            etag = first.headers["ETag"]
            request_times = []
            for _ in range(REQUEST_RUNS):
                response, seconds = timed(lambda: client.get(
                    path, headers={"If-None-Match": etag}))
                assert response.status_code == 304 and not response.data
                request_times.append(seconds)
            request_ms = statistics.median(request_times) * 1000

            # (d)-(f): the town feed, one event per duty and day (the coordinator's default).
            town_filters = FeedFilters(detail="duties")
            town_times = []
            for _ in range(RUNS):
                town, seconds = timed(lambda: export_town_ics(
                    scope, town_filters, options, name, today, "zh_CN"))
                town_times.append(seconds)
            town_s = statistics.median(town_times)
            town_events = town.count(b"BEGIN:VEVENT")
            town_path = f"/feeds/{secret}.ics"
            first = client.get(town_path)
            assert first.status_code == 200 and first.data.count(b"BEGIN:VEVENT") == town_events
            etag = first.headers["ETag"]
            town_request_times = []
            for _ in range(REQUEST_RUNS):
                response, seconds = timed(lambda: client.get(
                    town_path, headers={"If-None-Match": etag}))
                assert response.status_code == 304 and not response.data
                town_request_times.append(seconds)
            town_request_ms = statistics.median(town_request_times) * 1000
            db.engine.dispose()

    print(f"Coordinator's feed, {UNITS} units + coordinator, one year: {events} events "
          f"({len(cold) // 1024} KiB); naive build {naive_s:.2f} s, first {cold_s:.2f} s, "
          f"cold with stored components {stored_s:.2f} s, "
          f"after one change {changed_s * 1000:.0f} ms (medians):")
    report("ical", [
        {"figure": "(a) first build (nothing stored) / naive build",
         "value": round(cold_s / naive_s, 2), "target": "<= 1.5", "met": cold_s <= 1.5 * naive_s},
        {"figure": "(a2) cold build, components stored (new process) / naive build",
         "value": round(stored_s / naive_s, 3), "target": "<= 0.3",
         "met": stored_s <= 0.3 * naive_s},
        {"figure": "(b) naive build / build after one change",
         "value": round(naive_s / changed_s, 1), "target": ">= 5", "met": naive_s >= 5 * changed_s},
        {"figure": f"(c) unchanged feed, 304 request (ms, median of {REQUEST_RUNS})",
         "value": round(request_ms, 1), "target": "<= 20", "met": request_ms <= 20},
        {"figure": f"(d) town feed size (KiB, {town_events} events)",
         "value": round(len(town) / 1024, 1), "target": "<= 300", "met": len(town) <= 300 * 1024},
        {"figure": "(e) town feed cold build / naive build", "value": round(town_s / naive_s, 3),
         "target": "<= 0.2", "met": town_s <= 0.2 * naive_s},
        {"figure": f"(f) unchanged town feed, 304 request (ms, median of {REQUEST_RUNS})",
         "value": round(town_request_ms, 1), "target": "<= 20", "met": town_request_ms <= 20},
    ])


if __name__ == "__main__":
    main()
