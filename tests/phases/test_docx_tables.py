"""Scoring tables as offices write them (issue 25): each imports whole, or is refused
naming the table, row and cell."""

import json
import re
import tomllib
import unicodedata

import pytest

from tests.phases.test_docximport import FRONT, ROWS, SPAN, build, bundled_rubric, without_en
from tracker.phases.docximport import draft_toml, read_document
from tracker.phases.planfile import PlanError

#: Where group 4 starts in the seed's rows (a page break often falls there).
GROUP_4 = next(i for i, row in enumerate(ROWS) if row[0].startswith("4."))


def read(data: bytes):
    return read_document(data, "plan.docx")


def rubric_of(data: bytes, drop=("code_space",)):
    return strip(without_en(read(data).to_json()["rubric"]), drop)


def strip(nodes, drop):
    return [{k: strip(v, drop) if k == "children" else v for k, v in node.items()
             if k not in drop} for node in nodes]


def expected(drop=("code_space",), codes=lambda code: code):
    def recode(nodes):
        return [node | {"code": codes(node["code"]), "children": recode(node["children"])}
                for node in nodes]
    return strip(recode(bundled_rubric()), drop)


def rows_with(change):
    """The seed's rows, each cell passed through ``change(column, text)``."""
    return [[cell if cell is SPAN or not cell else change(c, cell) for c, cell in enumerate(row)]
            for row in ROWS]


def refusal(data: bytes) -> str:
    with pytest.raises(PlanError) as caught:
        read(data)
    return str(caught.value)


# -- continued tables --------------------------------------------------------------------

@pytest.mark.parametrize("repeat_header", [True, False], ids=["header repeated", "no header"])
@pytest.mark.parametrize("mode", ["merged", "empty"])
def test_a_table_continued_as_a_second_table(repeat_header, mode):
    data = build(ROWS, mode, front=FRONT, splits=[GROUP_4], repeat_header=repeat_header)
    assert rubric_of(data, ()) == expected(())
    imported = read(data)
    assert imported.total == 100 and [g.points for g in imported.groups] == [26, 46, 12, 6, 10]
    assert {r.table for r in imported.rows} == {1, 2}


def test_a_group_split_across_two_tables_and_a_continuation_note():
    middle = GROUP_4 - 3  # inside group 3
    data = build(ROWS, "merged", splits=[middle], repeat_header=False, between=("", "续表"))
    assert rubric_of(data, ()) == expected(())


def test_a_table_after_text_is_not_read_on_and_the_stated_total_catches_the_loss():
    data = build(ROWS, "merged", front=["附件", "考核评分细则（总分100分）"], splits=[GROUP_4],
                 repeat_header=False, between=("另附说明如下。",))
    message = refusal(data)
    assert message == ("plan.docx: the document states 100 points (“考核评分细则（总分100分）”), "
                       "but the table's rows add up to 84")


# -- codes -------------------------------------------------------------------------------

def dotted(column, text):
    if column not in (1, 2):
        return text
    return re.sub(r"^(\d+)-(\d+)(?:-(\d+))?", lambda m: ".".join(filter(None, m.groups())),
                  text)


def test_dotted_codes():
    imported = read(build(rows_with(dotted), front=FRONT))
    assert strip(without_en(imported.to_json()["rubric"]), ()) == expected(
        (), codes=lambda code: code.replace("-", "."))
    item = imported.groups[0].children[0]
    assert (item.code, item.title) == ("1.1", "健全集体领导、分工明确、执行有力的意识形态工作责任体系。")
    # "2.1学习宣传…" has no space after its code: neither does the sheet's.
    assert imported.groups[1].children[0].code_space is False
    assert 'code = "1.1.1"' in draft_toml(imported, "x")


def chinese(column, text):
    """一、（一）1. numbering: the group's number in Chinese, the item's in brackets, the
    row's a plain number within its item."""
    numerals = "零一二三四五六七八九"
    if column == 0:
        return re.sub(r"^(\d)\.", lambda m: numerals[int(m[1])] + "、", text)
    if column == 1:
        return re.sub(r"^\d+-(\d+)\s*", lambda m: f"（{numerals[int(m[1])]}）", text)
    if column == 2:
        return re.sub(r"^\d+-\d+-(\d+)\s*", lambda m: f"{m[1]}.", text)
    return text


def test_chinese_numbering():
    assert rubric_of(build(rows_with(chinese), front=FRONT)) == expected()


def full_width(column, text):
    """Codes, stated points and 分值 in full-width digits and punctuation."""
    wide = lambda m: re.sub(r"[0-9.\-]", lambda c: chr(ord(c[0]) + 0xFEE0), m[0])  # noqa: E731
    if column == 4:
        return wide(re.match(".*", text))
    if column in (0, 1, 2):
        return re.sub(r"（\d+分）$", wide, re.sub(r"^[\d.\-]+", wide, text))
    return text


def test_full_width_digits_and_punctuation_in_codes_and_points():
    rows = rows_with(full_width)
    assert rows[0][2].startswith("１－１－１") and rows[0][4] == "３"
    assert rubric_of(build(rows, front=FRONT)) == expected()


# -- rows on two physical rows, merges both ways --------------------------------------

def test_a_row_continued_on_a_second_physical_row():
    rows = [list(row) for row in ROWS]
    first = next(i for i, row in enumerate(rows) if row[2] and row[2].startswith("1-1-1"))
    requirement, deduction = rows[first][2], rows[first][3]
    rows[first][2:4] = [requirement[:12], deduction[:4]]
    rows.insert(first + 1, ["", "", requirement[12:], deduction[4:], "", ""])
    for mode, columns in (("merged", (0, 1, 4)), ("empty", (0, 1))):
        data = build(rows, mode, front=FRONT, merged_columns=columns)
        assert rubric_of(data, ()) == expected(()), mode
        imported = read(data)
        continued = [r for r in imported.rows if r.kind == "continued"]
        assert [(r.table, r.row, r.code) for r in continued] == [(1, first + 3, "1-1-1")]


def test_cells_merged_both_ways():
    # The seed's table as Word merges it: 一级项目 and 二级项目 down, group 5's rows across.
    data = build(ROWS, "merged", front=FRONT)
    assert rubric_of(data, ()) == expected(())


# -- points ------------------------------------------------------------------------------

def test_half_points_are_carried_into_the_draft():
    rows = [list(row) for row in ROWS]
    first = next(i for i, row in enumerate(rows) if row[2] and row[2].startswith("1-1-1"))
    rows[first][4], rows[first + 1][4] = "2.5", "３．５"
    imported = read(build(rows, front=FRONT))
    leaves = imported.leaves()
    assert [leaf.points for leaf in leaves[:2]] == [2.5, 3.5]
    assert imported.groups[0].children[0].points == 6 and imported.total == 100
    draft = tomllib.loads(draft_toml(imported, "x"))
    assert draft["rubric"]["groups"][0]["items"][0]["rows"][0]["points"] == 2.5
    assert json.loads(json.dumps(imported.to_json()))["rubric"][0]["children"][0][
        "children"][1]["points"] == 3.5


@pytest.mark.parametrize("points", ["2.25", "1/2", "-1", "0.5.1"])
def test_points_not_in_halves_are_refused(points):
    rows = [list(row) for row in ROWS]
    rows[0][4] = points
    assert refusal(build(rows)) == (
        f"plan.docx: table 1, row 2, cell 分值: “{points}” is not a number of points "
        f"(whole, or in halves such as 1.5)")


# -- totals the document states ---------------------------------------------------------

def test_a_wrong_stated_item_total_names_its_cell():
    rows = [list(row) for row in ROWS]
    rows[0][1] = rows[0][1].replace("（6分）", "（7分）")
    assert refusal(build(rows)) == (
        "plan.docx: table 1, row 2, cell 二级项目: item 1-1 (健全集体领导、分工明确、执行有力的"
        "意识形态工作责任体系。) says 7 points, but its rows add up to 6")


def test_a_wrong_stated_group_total_in_a_continued_table():
    rows = [list(row) for row in ROWS]
    rows[GROUP_4][0] = rows[GROUP_4][0].replace("（6分）", "（8分）")
    message = refusal(build(rows, splits=[GROUP_4], repeat_header=False))
    assert message.startswith("plan.docx: table 2, row 1, cell 一级项目: group 4 (")
    assert message.endswith("says 8 points, but its rows add up to 6")


def test_a_total_line_below_the_table():
    assert read(build(ROWS, after=["总分：100分"])).total == 100
    assert refusal(build(ROWS, after=["总分：98分"])) == (
        "plan.docx: the document states 98 points (“总分：98分”), but the table's rows add up "
        "to 100")


def test_a_total_row_across_the_columns():
    rows = [*ROWS, ["总分", "", "", "", "99", ""]]
    assert refusal(build(rows, "empty")).startswith(
        f"plan.docx: table 1, row {len(ROWS) + 2}, cell 分值: the 合计 row says 99 points")


def test_messages_in_the_readers_language(app):
    """Through gettext: in Chinese where the reader reads Chinese."""
    from flask_babel import force_locale

    rows = [list(row) for row in ROWS]
    rows[0][4] = "三"
    with app.test_request_context(), force_locale("zh_CN"):
        message = refusal(build(rows))
    assert unicodedata.normalize("NFC", message).startswith("plan.docx：第1个表格第2行“分值”栏：")
