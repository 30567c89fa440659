"""Importing the scoring table of a Word document, on documents these tests build."""

import io
import json
import tomllib
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
import tomli_w
from docx.oxml import OxmlElement

from tracker.phases.docximport import draft_toml, front_matter, read_document
from tracker.phases.planfile import PlanError, bundled_plans, parse_plan, read_plan

SEED = (Path(__file__).parent.parent / "data" / "seed-shuyuan-2020.txt").read_text("utf-8")
HEADER = ["一级项目", "二级项目", "工作要求", "扣分标准", "分值", "得分"]
#: In a row, a cell merged into the one on its left (the seed's group 5).
SPAN = None


def seed_annex() -> tuple[list[str], list[list[str | None]]]:
    """The seed's text above the table, as lines, and its table as rows of six cells.

    The seed renders a cell as a line starting with a tab (its further lines follow
    without one) and ends a row with a blank line; an empty cell continues a merged one.
    """
    head, _, body = SEED.partition("\t得分\n")
    rows, row = [], []
    for line in body.splitlines():
        if line.startswith("\t"):
            row.append(line[1:])
        elif line.strip():
            row[-1] += "\n" + line
        elif len(row) >= 4:  # group 3's label holds blank lines of its own
            rows.append(row)
            row = []
    for row in rows:
        if len(row) < 6:  # group 5: one cell across 二级项目 and 工作要求; no last 得分
            row[2:2] = [SPAN]
            row += [""] * (6 - len(row))
    return head.partition("\n\t一级项目")[0].splitlines(), rows


FRONT, ROWS = seed_annex()


def build(rows, mode="merged", front=(), header=HEADER, above=None, splits=(),
          repeat_header=True, between=("",), merged_columns=(0, 1), after=()) -> bytes:
    """A .docx holding ``front`` as paragraphs and ``rows`` as a table under ``header``.

    ``mode`` says how a cell that continues the one above is written: "merged" (a real
    vertical merge in ``merged_columns``, and group 5's cell across two columns), "empty"
    or "repeated". ``splits``: row indexes where the table goes on as another table (after
    the paragraphs ``between``), its header repeated or not; ``after``: paragraphs below.
    """
    document = docx.Document()
    for line in front:
        document.add_paragraph(line)
    bounds = [0, *splits, len(rows)]
    for n, (first, last) in enumerate(zip(bounds, bounds[1:])):
        if n:
            for line in between:
                document.add_paragraph(line)
        has_header = n == 0 or repeat_header
        _table(document, rows[first:last], mode, header if has_header else None,
               above if n == 0 else None, merged_columns)
    for line in after:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _table(document, rows, mode, header, above, merged_columns):
    top = (header is not None) + (above is not None)
    table = document.add_table(rows=top + len(rows), cols=6)
    if above is not None:
        table.cell(0, 0).merge(table.cell(0, 5)).text = above
    if header is not None:
        for cell, text in zip(table.rows[top - 1].cells, header):
            cell.text = text
    previous = [""] * 6
    for r, row in enumerate(rows, top):
        if row[2] is SPAN:
            row = row[:1] + ([row[1], row[1]] if mode == "repeated" else ["", row[1]]) + row[3:]
        for c, (cell, text) in enumerate(zip(table.rows[r].cells, row)):
            if mode == "repeated" and c < 2 and not text:
                text = previous[c]
            write(cell, text)
        previous = [text or previous[c] for c, text in enumerate(row)]
    if mode == "merged":
        merge(table, rows, top, merged_columns)


def write(cell, text):
    """Text into a cell, a list of strings as several paragraphs."""
    paragraphs = [text] if isinstance(text, str) else text
    cell.text = paragraphs[0]
    for more in paragraphs[1:]:
        cell.add_paragraph(more)


def merge(table, rows, top, columns=(0, 1)):
    """Merge group 5's two-column cells, then each empty cell of ``columns`` into the one
    above, as Word does (w:gridSpan, w:vMerge)."""
    for r, row in enumerate(rows, top):
        if row[2] is SPAN:
            text = row[1]
            table.cell(r, 1).merge(table.cell(r, 2)).text = text
    for c in columns:
        start = top
        for r in range(top + 1, top + len(rows) + 1):
            if r == top + len(rows) or rows[r - top][c]:
                if r - 1 > start:
                    text = rows[start - top][c]
                    table.cell(start, c).merge(table.cell(r - 1, c)).text = text
                start = r


def bundled_rubric():
    return without_en([g.to_json() for g in read_plan("shuyuan-2020").rubric])


#: What a scoring table says of a rubric: not its English, nor how the plan scores each row
#: (kinds, the evidence its 扣分标准 names, minimums), which the plan adds.
PLAN_ONLY = {"title_en", "applies_to", "evidence", "evidence_match", "requires", "party_org"}


def without_en(nodes):
    """Rubric JSON as the document gives it (without PLAN_ONLY keys)."""
    return [{k: without_en(v) if k == "children" else v for k, v in node.items()
             if k not in PLAN_ONLY} for node in nodes]


def read(data: bytes):
    return read_document(data, "plan.docx")


@pytest.fixture(scope="module")
def seed_docx():
    return build(ROWS, front=FRONT)


def test_the_seed_table_with_merged_cells_gives_the_bundled_rubric(seed_docx):
    tbl = docx.Document(io.BytesIO(seed_docx)).tables[0]._tbl.xml
    assert "w:vMerge" in tbl and "w:gridSpan" in tbl  # the test builds what it says
    imported = read(seed_docx)
    assert without_en(imported.to_json()["rubric"]) == bundled_rubric()
    assert imported.total == 100
    assert [(r.code, r.numbered) for r in imported.groups[4].children] == [
        ("5-1", False), ("5-2", False)]


@pytest.mark.parametrize("mode", ["empty", "repeated"])
def test_continuation_cells_left_empty_or_repeated(mode):
    imported = read(build(ROWS, mode))
    assert without_en(imported.to_json()["rubric"]) == bundled_rubric()


def noisy(text):
    """The text as a careless Word user leaves it: padding, full-width spaces, breaks."""
    if not text:
        return text
    if text.isdigit():
        return f" {chr(ord(text) + 0xFEE0) if len(text) == 1 else text}\u3000分 "
    head, comma, tail = text.partition("，")
    if comma:  # two paragraphs
        return ["\u3000" + head + comma + " ", "\n " + tail.replace("。", "。 \u200b", 1) + "  "]
    return "\u3000 " + text.replace("（", "\n（") + "\t\n"


def test_stray_white_space_and_full_width_characters():
    rows = [[noisy(text) for text in row] for row in ROWS]
    header = ["一级\n项目", " 二级项目", "工作\u3000要求", "扣分标准\n", "分　值", "得 分"]
    imported = read(build(rows, "empty", header=header))
    assert without_en(imported.to_json()["rubric"]) == bundled_rubric()


def test_title_number_and_date_from_the_text_above_the_table(seed_docx):
    imported = read(seed_docx)
    plan = read_plan("shuyuan-2020")
    assert (imported.title, imported.document_number, imported.issued_on, imported.issuer) == (
        plan.title, plan.document_number, plan.issued_on, plan.issuer)
    assert imported.rubric_title == plan.rubric_title
    assert imported.to_json()["issued_on"] == "2020-05-12"


def test_a_title_row_inside_the_table():
    rubric_title = "书院镇2020年度落实意识形态工作责任制考核评分细则"
    imported = read(build(ROWS, above=f" {rubric_title}\n"))
    assert imported.rubric_title == imported.title == rubric_title
    assert (imported.document_number, imported.issued_on) == ("", None)
    assert imported.to_json()["issued_on"] is None


@pytest.mark.parametrize("lines, expected", [
    (["书委〔2020〕29号", "关于印发《方案》的通知", "中共书院镇委员会", "2020年5月12日",
      "书院镇党政办公室 2020年5月14日印发"],
     ("方案", "书委〔2020〕29号", "中共书院镇委员会", date(2020, 5, 12))),
    # No signature line: the printing date.
    (["沪委办[2019]7号", "依据《办法》，印发《工作方案》。", "2019年3月1日印发"],
     ("工作方案", "沪委办[2019]7号", "", date(2019, 3, 1))),
    # A cited 《…》 is not the title; a deadline is not the issue date, nor a date that
    # does not exist.
    (["根据《办法》，各单位于2020年12月31日前完成。", "特此通知。", "2020年2月30日"],
     ("", "", "", None)),
    # The issuer's name on the line above does not run into the number's prefix.
    (["中共书院镇委员会", "书委〔2020〕29号"], ("", "书委〔2020〕29号", "", None)),
])
def test_front_matter(lines, expected):
    assert front_matter(lines) == expected


def test_the_annex_heading_is_the_rubric_title_and_a_total_row_is_checked():
    rows = [*ROWS, ["合计", "合计", "合计", "合计", "100", ""]]
    imported = read(build(rows, front=["特此通知。", "附件1：考核评分细则"]))
    assert (imported.title, imported.rubric_title, imported.total) == (
        "考核评分细则", "考核评分细则", 100)
    rows[-1][4] = "90"
    with pytest.raises(PlanError, match="^plan.docx: table 1, row 34, cell 分值: the 合计 row "
                                        "says 90 points, but the groups add up to 100$"):
        read(build(rows))


def table_error(rows, mode="merged") -> str:
    with pytest.raises(PlanError) as caught:
        read(build(rows, mode))
    return str(caught.value)


def changed(code_prefix, column, value):
    """The seed's rows with one cell changed, in the row whose 工作要求 starts so."""
    rows = [list(row) for row in ROWS]
    row = next(row for row in rows if (row[2] or row[1]).startswith(code_prefix))
    row[column] = value
    return rows


def test_a_points_cell_that_is_not_a_number():
    message = table_error(changed("1-1-2", 4, "三"))
    assert message == (
        "plan.docx: table 1, row 3, cell 分值: “三” is not a number of points (whole, or in "
        "halves such as 1.5)")
    assert "the 分值 cell is empty" in table_error(changed("1-1-2", 4, ""))


def test_points_that_do_not_add_up():
    assert table_error(changed("推动新思想", 4, "5")) == (
        "plan.docx: table 1, row 32, cell 一级项目: group 5 (特色亮点项目) says 10 points, "
        "but its rows add up to 9")
    assert "item 1-1 (健全集体领导、分工明确、执行有力的意识形态工作责任体系。) says 6 points, " \
        "but its rows add up to 5" in table_error(changed("1-1-1", 4, "2"))


def test_a_group_with_rows_both_with_and_without_items():
    message = table_error(changed("结合属地实际", 2, "4-9 自拟项目"), mode="empty")
    assert "group 5 (特色亮点项目) has rows both with and without a 二级项目" in message
    assert ("row 3, cell 工作要求: code 1-1-1 is used twice (first in table 1, row 2, "
            "cell 工作要求)") in table_error(changed("1-1-2", 2, "1-1-1 明确其他班子成员是具体责任人。"))


@pytest.mark.parametrize("document", [
    lambda: build([], front=FRONT),
    lambda: build(ROWS, header=["项目", "内容", "要求", "标准", "分数", "得分"]),
    lambda: build(ROWS[:0], header=HEADER),
], ids=["header only", "other headers", "no rows"])
def test_a_document_without_a_scoring_table(document):
    with pytest.raises(PlanError, match="plan.docx: no scoring table found: no table has a "
                                        "header row with the columns 一级项目、二级项目"):
        read(document())


def test_a_document_without_any_table():
    document = docx.Document()
    document.add_paragraph("特此通知。")
    out = io.BytesIO()
    document.save(out)
    with pytest.raises(PlanError, match="no scoring table found"):
        read(out.getvalue())


def zip_of(name):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, "<x/>")
    return out.getvalue()


@pytest.mark.parametrize("data", [b"", "书委〔2020〕29号".encode(), zip_of("data.csv"),
                                  b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)],
                         ids=["empty", "text", "other zip", "old .doc"])
def test_not_a_word_document(data):
    with pytest.raises(PlanError, match=r"^plan.docx: not a Word document \(.docx\)"):
        read(data)


def test_a_damaged_document():
    document = docx.Document(io.BytesIO(build(ROWS)))
    # A cell that continues a merge from above, on the table's first row.
    document.tables[0].rows[0].cells[0]._tc.get_or_add_tcPr().append(OxmlElement("w:vMerge"))
    out = io.BytesIO()
    document.save(out)
    with pytest.raises(PlanError, match=r"^plan.docx: table 1 is damaged \(.*\); open the "
                                        r"document in Word and save it again$"):
        read(out.getvalue())

    with zipfile.ZipFile(io.BytesIO(build(ROWS))) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, b"<x/>" if name == "word/document.xml" else data)
    with pytest.raises(PlanError, match="the Word document is damaged"):
        read(out.getvalue())


# -- the draft -------------------------------------------------------------------------

def test_the_draft_reads_back_and_loads_once_phases_and_duties_are_added(seed_docx):
    text = draft_toml(read(seed_docx), "shuyuan-draft")
    assert text.startswith("# Draft plan imported by `tracker plan import`")
    assert text.count("[[rubric.groups.items.rows]]") == 30
    assert text.count("[[rubric.groups.rows]]") == 2
    draft = tomllib.loads(text)
    assert draft["plan"] == {
        "name": "shuyuan-draft", "title": "书院镇2020年度落实意识形态工作责任制工作方案",
        "issuer": "中共浦东新区书院镇委员会", "document_number": "书委〔2020〕29号",
        "issued_on": date(2020, 5, 12), "timezone": "Asia/Shanghai"}
    with pytest.raises(PlanError, match="has no \\[\\[phases\\]\\]"):
        parse_plan(text.encode(), "draft.toml")
    bundled = tomllib.loads(bundled_plans()["shuyuan-2020"].read_text("utf-8"))
    # The draft's rows apply to every kind of unit until the plan says otherwise, so the
    # bundled duties are given to every unit here.
    duties = [d | {"applies_to": d["applies_to"] if d["applies_to"] == "coordinator"
                   else "units"} for d in bundled["duties"]]
    completed = draft | {key: bundled[key] for key in ("defaults", "phases")} | {
        "duties": duties}
    plan = parse_plan(tomli_w.dumps(completed).encode(), "draft.toml")
    assert without_en([g.to_json() for g in plan.rubric]) == bundled_rubric()
    assert (plan.rubric_title, plan.rubric_total) == (read_plan("shuyuan-2020").rubric_title, 100)


def test_a_draft_without_title_says_so():
    text = draft_toml(read(build(ROWS)), "x")
    assert "fill in [plan] title" in text
    assert tomllib.loads(text)["plan"] == {"name": "x", "title": "", "timezone": "Asia/Shanghai"}


# -- the command line ------------------------------------------------------------------

def ok(result):
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(result, message):
    """Exit code 2, ``Error: <message>`` on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error:") and message in result.stderr, result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def seed_file(tmp_path, seed_docx):
    path = tmp_path / "书委〔2020〕29号.docx"
    path.write_bytes(seed_docx)
    return path


def test_cli_json(runner, seed_file):
    data = json.loads(ok(runner.invoke(args=["plan", "import", str(seed_file),
                                             "--format", "json"])))
    assert set(data) == {"title", "document_number", "issued_on", "rubric"}
    assert (data["document_number"], data["issued_on"]) == ("书委〔2020〕29号", "2020-05-12")
    shown = json.loads(ok(runner.invoke(args=["plan", "show", "shuyuan-2020",
                                              "--format", "json"])))
    assert without_en(data["rubric"]) == without_en(shown["rubric"])


def test_cli_writes_a_draft_and_will_not_overwrite_it(runner, seed_file, tmp_path):
    draft = tmp_path / "draft.toml"
    args = ["plan", "import", str(seed_file), "-o", str(draft)]
    out = ok(runner.invoke(args=args))
    assert "100 points, 5 groups, 32 rows" in out and f"Draft written to {draft}" in out
    written = draft.read_text("utf-8")
    assert tomllib.loads(written)["plan"]["name"] == "draft"

    draft.write_text("# edited by hand\n", "utf-8")
    refused(runner.invoke(args=args), f"{draft} exists; add --force to overwrite it")
    assert draft.read_text("utf-8") == "# edited by hand\n"
    ok(runner.invoke(args=[*args, "--force"]))
    assert draft.read_text("utf-8") == written


def test_cli_errors(runner, tmp_path):
    text = tmp_path / "plan.docx"
    text.write_text("not Word", "utf-8")
    refused(runner.invoke(args=["plan", "import", str(text)]), "not a Word document")
    refused(runner.invoke(args=["plan", "import", str(tmp_path / "missing.docx")]),
            "cannot read")
    draft = tmp_path / "draft.toml"
    refused(runner.invoke(args=["plan", "import", str(text), "-o", str(draft)]),
            "not a Word document")
    assert not draft.exists()


def test_cli_refuses_a_file_too_large_before_reading_it_whole(runner, tmp_path):
    from tracker.phases.docximport import MAX_DOCUMENT_BYTES

    big = tmp_path / "big.docx"
    with big.open("wb") as handle:
        handle.truncate(MAX_DOCUMENT_BYTES + 1)  # sparse: nothing written
    refused(runner.invoke(args=["plan", "import", str(big)]), "the document is larger than 50 MB")
