"""Finding 13: `tracker unit import` of 100,000 rows took 9 GB and did not finish in four
minutes. The file is read as a stream and refused, quickly and with little memory, past
MAX_IMPORT_ROWS; a file at the cap goes in whole."""

import time
import tracemalloc

import sqlalchemy as sa

from tracker.extensions import db
from tracker.units.models import Unit
from tracker.units.services import MAX_IMPORT_ROWS


def write_units(path, count, kind="branch"):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("name,kind\n")
        for i in range(count):
            fh.write(f"第{i:06d}党支部,{kind}\n")
    return path


def test_a_file_over_the_cap_is_refused_quickly_and_lightly(app, runner, tmp_path):
    path = write_units(tmp_path / "huge.csv", 100_000)
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = runner.invoke(args=["unit", "import", str(path)])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 2, result.output
    assert f"more than {MAX_IMPORT_ROWS} units" in result.stderr
    assert f"line {MAX_IMPORT_ROWS + 2}" in result.stderr
    assert peak < 20 * 1024 * 1024, peak
    assert time.monotonic() - started < 30
    assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == 0


def test_a_file_at_the_cap_goes_in_whole(app, runner, tmp_path):
    path = write_units(tmp_path / "cap.csv", MAX_IMPORT_ROWS)
    result = runner.invoke(args=["unit", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert f"Imported {MAX_IMPORT_ROWS} units" in result.output
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == MAX_IMPORT_ROWS


def test_one_endless_line_is_refused_without_reading_it_whole(app, runner, tmp_path):
    path = tmp_path / "line.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("name,kind\n")
        fh.write("x" * 50_000_000)
    tracemalloc.start()
    try:
        result = runner.invoke(args=["unit", "import", str(path)])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 2 and "line 2" in result.stderr, result.output
    assert peak < 20 * 1024 * 1024, peak


def test_tasks_are_made_in_batches_all_in_one_go(town, runner, tmp_path, monkeypatch):
    """The units' tasks are written a batch at a time (memory stays flat), all committed."""
    from tracker.tasks.models import Task
    from tracker.units import cli

    monkeypatch.setattr(cli, "TASK_BATCH", 2)
    per_unit = db.session.scalar(sa.select(sa.func.count(Task.id))
                                 .where(Task.unit_id == town.units.a.id))
    result = runner.invoke(args=["unit", "import", str(write_units(tmp_path / "five.csv", 5,
                                                                   "village"))])
    assert result.exit_code == 0, result.output
    assert f"Imported 5 units; tasks made: {5 * per_unit} for shuyuan-2020 {town.year}" \
        in result.output
    db.session.remove()
    counts = db.session.execute(sa.select(Task.unit_id, sa.func.count(Task.id))
                                .join(Unit).where(Unit.name.like("第%"))
                                .group_by(Task.unit_id)).all()
    assert len(counts) == 5 and {n for _unit, n in counts} == {per_unit}
