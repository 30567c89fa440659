"""The registry of exports: a format registered here, outside the area's code, shows on
the page's download links, is served by the area's view and written by its command."""

import json

import pytest

from tracker.core import exports
from tracker.core.cli import ROWS


def _write_json(sheet, stream):
    """The scoring sheet as JSON: each unit's total (what a new format would be)."""
    stream.write(json.dumps([{"unit": r.unit.name, "total": str(r.total)}
                             for r in sheet.results], ensure_ascii=False).encode("utf-8"))


def _write_tsv(rows, stream):
    lines = ["\t".join(rows.columns)] + ["\t".join(str(r[c]) for c in rows.columns)
                                         for r in rows.records]
    stream.write(("\n".join(lines) + "\n").encode("utf-8"))


@pytest.fixture
def registered(app):
    """A JSON scoring sheet and a TSV list, registered for the test only."""
    sheet = exports.register(exports.Export(
        "assessment.sheet", "json", ".json", "application/json", "Scores (JSON)",
        _write_json))
    tsv = exports.register(exports.Export(ROWS, "tsv", ".tsv",
                                          "text/tab-separated-values", "TSV", _write_tsv))
    yield sheet, tsv
    exports.unregister("assessment.sheet", "json")
    exports.unregister(ROWS, "tsv")


def test_a_registered_export_is_linked_served_and_written(registered, client, town, login,
                                                          runner, tmp_path):
    year, unit = town.year, town.units.a
    login(client, town.users.manager)
    page = client.get(f"/assessment/{year}/units/{unit.id}").text
    assert (f'<a href="/assessment/{year}/export.json?unit={unit.id}" data-export="json">'
            f'Scores (JSON)</a>') in page
    response = client.get(f"/assessment/{year}/export.json", query_string={"unit": unit.id})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"assessment-{0}.json\"; "
        "filename*=UTF-8''assessment-{0}-%E6%B4%8B%E6%BA%A2%E6%9D%91%E5%85%9A%E6%80%BB%E6%94%AF"
        ".json".format(year))
    assert [r["unit"] for r in response.json] == ["洋溢村党总支"]
    # The coordinator's overview links every unit's.
    admin = login(client.application.test_client(), town.users.admin)
    assert 'data-export="json">Scores (JSON)</a>' in admin.get(f"/assessment?year={year}").text
    assert {r["unit"] for r in admin.get(f"/assessment/{year}/export.json").json} == {
        "洋溢村党总支", "新北村党支部"}

    out = tmp_path / "scores.json"
    result = runner.invoke(args=["assessment", "export", "--year", str(year), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert {r["unit"] for r in json.loads(out.read_text("utf-8"))} == {"洋溢村党总支",
                                                                      "新北村党支部"}
    result = runner.invoke(args=["assessment", "export", "--year", str(year), "-o",
                                 str(tmp_path / "x.ods")])
    assert result.exit_code == 2
    assert "x.ods: the file must end in .xlsx, .csv or .json" in result.stderr

    result = runner.invoke(args=["stats", "--year", str(year), "--format", "tsv"])
    assert result.exit_code == 0 and result.output.startswith("unit\tduty\t"), result.output
    result = runner.invoke(args=["unit", "list", "--format", "xml"])
    assert result.exit_code == 2 and "'table', 'json', 'csv', 'tsv'" in result.stderr


def test_without_it_the_format_is_unknown_everywhere(client, town, login, runner, tmp_path):
    year = town.year
    login(client, town.users.admin)
    assert "data-export=\"json\"" not in client.get(f"/assessment?year={year}").text
    assert client.get(f"/assessment/{year}/export.json").status_code == 404
    result = runner.invoke(args=["assessment", "export", "--year", str(year), "-o",
                                 str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert "x.json: the file must end in .xlsx or .csv" in result.stderr
    result = runner.invoke(args=["stats", "--year", str(year), "--format", "tsv"])
    assert result.exit_code == 2 and "'table', 'json', 'csv'." in result.stderr


def test_a_print_view_is_the_webs_only(client, town, login, runner, tmp_path):
    """The print view is a page (shown, not downloaded) and not a file the CLI writes;
    the binder's buttons come from the registry too, the town's for the coordinator only."""
    year, unit = town.year, town.units.a
    login(client, town.users.manager)
    response = client.get(f"/assessment/{year}/units/{unit.id}/print")
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Content-Disposition" not in response.headers
    assert client.get(f"/assessment/{year}/export.print").status_code == 404
    page = client.get(f"/binder?year={year}").text
    assert f'action="/binder/{year}/units/{unit.id}.zip"' in page
    assert "town.zip" not in page
    result = runner.invoke(args=["assessment", "export", "--year", str(year), "-o",
                                 str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "must end in .xlsx or .csv" in result.stderr
