"""The year in figures of a seeded town, counted by hand."""

import csv
import io
import json
from datetime import date, datetime, timezone

from tests.binder.conftest import duty_tasks, file_work
from tracker.extensions import db
from tracker.tasks.services import Occurrence


def seed(filed):
    """On top of ``filed``: a third study session (on ideology, 12 present) and the first
    topic meeting, submitted in June before its due date."""
    town = filed.town
    file_work(filed.study[2], town.users.manager, [("第三次.jpg", _jpeg())],
              occurrence=Occurrence(date(town.year, 6, 10), 12, ("ideology",)), accept=True,
              reviewer=town.users.admin)
    topic = duty_tasks(town.units.a, "topic-meeting")[0]
    file_work(topic, town.users.manager, [("会议记录.pdf", filed.pdf)], accept=True,
              reviewer=town.users.admin, now=datetime(town.year, 6, 1, 2, tzinfo=timezone.utc))
    db.session.commit()


def _jpeg():
    from tests import samples

    return samples.jpeg(100, 80)


def by_duty(records, unit):
    return {r["duty"]: r for r in records if r["unit"] == unit}


def test_the_figures_of_a_seeded_town(filed, runner):
    seed(filed)
    town = filed.town
    result = runner.invoke(args=["stats", "--year", str(town.year), "--format", "json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    a = by_duty(records, "洋溢村党总支")
    # Six study-session slots: the first held (9, on ideology) and the third (12, on
    # ideology) accepted, both submitted after their due dates; the second returned.
    study = a["study-session"]
    assert (study["tasks"], study["held"], study["attendance"], study["marked"],
            study["accepted"], study["on_time"], study["late"], study["returned"]) == \
        (6, 2, 21, 2, 2, 0, 2, 1)
    assert study["title"].startswith("两委班子集中学习研讨")
    docs = a["responsibility-docs"]
    assert (docs["tasks"], docs["held"], docs["accepted"], docs["on_time"], docs["late"]) == \
        (1, 0, 1, 0, 1)
    topic = a["topic-meeting"]
    assert (topic["tasks"], topic["accepted"], topic["on_time"], topic["late"]) == (2, 1, 1, 0)
    united = a["united-front"]  # submitted, not yet reviewed
    assert (united["tasks"], united["accepted"], united["late"]) == (1, 0, 0)
    # The other village did nothing: its duties are there, at nought.
    b = by_duty(records, "新北村党支部")
    assert b["study-session"]["tasks"] == 6
    assert all(r["held"] == r["accepted"] == r["late"] == 0 for r in b.values())
    # The coordinator's own duties are not a unit's.
    assert {r["unit"] for r in records} == {"洋溢村党总支", "新北村党支部"}


def test_one_unit_as_csv_and_table(filed, runner):
    town = filed.town
    result = runner.invoke(args=["stats", "--year", str(town.year), "--unit", "洋溢村党总支",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {r["unit"] for r in rows} == {"洋溢村党总支"}
    study = next(r for r in rows if r["duty"] == "study-session")
    assert (study["held"], study["attendance"], study["returned"]) == ("1", "9", "1")
    table = runner.invoke(args=["stats", "--year", str(town.year), "--unit", "洋溢村党总支"])
    assert table.exit_code == 0 and "study-session" in table.output


def test_bad_input(town, runner):
    for args, message in ((["--year", str(town.year), "--unit", "无此单位"], "no unit named"),
                          (["--year", str(town.year + 3)], str(town.year + 3))):
        result = runner.invoke(args=["stats", *args])
        assert result.exit_code == 2 and "Error:" in result.output and message in result.output
