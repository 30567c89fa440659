"""Benchmark: loading the bundled plan for a town of 300 units, and for a district of
3,000 units on one database (target: at least 20,000 tasks per second).

Reports tasks per second (target: at least 5,000) and SQL statements per unit,
with the bundled plan and with a plan of twice as many duties: the statements
per unit must not grow with the number of duties (bulk inserts, not a
statement per task).

    python3 dev.py bench          # or: .venv/bin/python bench/bench_plan_load.py
"""

import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_town, bench_app, count_statements, report, temp_dir  # noqa: E402

UNITS = 300
#: A district: its towns' units on one database.
DISTRICT_UNITS = 3000
RUNS = 3
NOW = datetime(2026, 1, 5, tzinfo=timezone.utc)


def doubled_plan_bytes() -> bytes:
    """The bundled plan with every duty present twice (the copy under another code)."""
    from tracker.phases.planfile import bundled_plans

    text = bundled_plans()["shuyuan-2020"].read_text("utf-8")
    head, _, duties = text.partition("[[duties]]")
    copy = duties.replace('code = "', 'code = "copy-')
    return (head + "[[duties]]" + duties + "\n[[duties]]" + copy).encode("utf-8")


def one_load(spec, year=2026, units=UNITS):
    """Load ``spec`` into a fresh town of ``units``; return (tasks, seconds, statements)."""
    from tracker.extensions import db
    from tracker.phases.services import install_plan
    from tracker.tasks.loading import load_plan

    with temp_dir() as tmp:
        app = bench_app(tmp)
        with app.app_context():
            add_town(units)
            install_plan(spec, NOW)  # the plan's own rows, once per plan: not per unit
            db.session.commit()
            with count_statements(db.engine) as statements:
                started = time.perf_counter()
                result = load_plan(spec, year, NOW)
                db.session.commit()
                seconds = time.perf_counter() - started
            db.engine.dispose()
    return result.tasks.created, seconds, len(statements)


def main():
    from tracker.phases.planfile import parse_plan, read_plan

    bundled = read_plan("shuyuan-2020")
    doubled = parse_plan(doubled_plan_bytes(), "doubled")
    runs = [one_load(bundled) for _ in range(RUNS)]
    tasks = runs[0][0]
    seconds = statistics.median(r[1] for r in runs)
    statements = runs[0][2]
    d_tasks, _, d_statements = one_load(doubled)
    district = [one_load(bundled, units=DISTRICT_UNITS) for _ in range(2)]
    district_tasks = district[0][0]
    district_s = min(r[1] for r in district)
    district_rate = district_tasks / district_s
    per_unit = statements / (UNITS + 1)
    d_per_unit = d_statements / (UNITS + 1)
    print(f"Plan load, {UNITS} units + coordinator, {tasks} tasks, median of {RUNS} runs:")
    report("plan_load", [
        {"figure": "tasks per second", "value": round(tasks / seconds),
         "target": ">= 5000", "met": tasks / seconds >= 5000},
        {"figure": f"statements per unit ({len(bundled.duties)} duties)",
         "value": round(per_unit, 3), "target": "< 1", "met": per_unit < 1},
        {"figure": f"statements per unit ({len(doubled.duties)} duties, {d_tasks} tasks)",
         "value": round(d_per_unit, 3), "target": "< 1", "met": d_per_unit < 1},
        {"figure": "statements per 1000 tasks, doubled / bundled",
         "value": round((d_statements / d_tasks) / (statements / tasks), 2),
         "target": "<= 1.1", "met": (d_statements / d_tasks) <= 1.1 * (statements / tasks)},
        {"figure": f"district, {DISTRICT_UNITS} units ({district_tasks} tasks): tasks per second",
         "value": round(district_rate), "target": ">= 20000", "met": district_rate >= 20000},
    ])


if __name__ == "__main__":
    main()
