"""The binder ZIP and the town's ZIP, read back with zipfile and openpyxl, every evidence
file hashed against its upload."""

import hashlib
import io
import zipfile

import openpyxl

from tests.binder.conftest import file_work, duty_tasks
from tracker.extensions import db


def test_a_units_zip_files_every_upload_byte_for_byte_by_row(filed, runner, tmp_path):
    town = filed.town
    out = tmp_path / "a.zip"
    result = runner.invoke(args=["binder", "export", "--year", str(town.year), "--unit",
                                 town.units.a.name, "-o", str(out)])
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    hashes = {}
    for n in names:
        hashes.setdefault(hashlib.sha256(archive.read(n)).hexdigest(), []).append(n)
    uploads = [f for t in (filed.docs, *filed.study) for f in t.evidence_files]
    assert len(uploads) == 6
    for f in uploads:
        assert f.sha256 in hashes, f.original_name
    # The files sit in their rows' folders under readable names: date, task, own name.
    # The duty serves 1-1-1 and 1-1-2: its files are filed under both.
    first, second = hashes[filed.docs.evidence_files[0].sha256]
    assert first.startswith("1-1-1 明确领导班子一把手是“第一责任人”/")
    assert second.startswith("1-1-2 明确其他班子成员是具体责任人/")
    assert first.endswith("责任书.pdf") and filed.docs.title[:10] in first
    heic, = hashes[filed.study[0].evidence_files[0].sha256]
    assert heic.startswith("1-4-1 ") and f"{town.year}-02-20" in heic
    # Statements as text; the 目录 in both forms; the binder PDF.
    statement = next(n for n in names if n.startswith("3-3-1 ") and n.endswith(".txt"))
    assert "STATEMENT-TEXT 组织党外人士参观学习两次。" in archive.read(statement).decode()
    html = archive.read("目录.html").decode()
    assert "责任书.pdf" in html and filed.docs.evidence_files[0].sha256 in html
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read("目录.xlsx"))).active
    cells = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    listed = {r[11]: r for r in cells[2:] if len(r) > 11 and r[11]}
    for f in uploads:
        assert listed[f.sha256][7] == f.original_name and listed[f.sha256][10] == f.size
    assert archive.read(f"洋溢村党总支 {town.year}年工作台账.pdf")[:5] == b"%PDF-"


def test_the_towns_zip_has_a_folder_per_unit(filed, runner, tmp_path):
    town = filed.town
    other = duty_tasks(town.units.b, "responsibility-docs")[0]
    file_work(other, town.users.other, [("新北责任书.docx", _docx())])
    db.session.commit()
    out = tmp_path / "town.zip"
    result = runner.invoke(args=["binder", "export", "--year", str(town.year),
                                 "--without-pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    archive = zipfile.ZipFile(out)
    names = archive.namelist()
    assert {n.split("/")[0] for n in names} == {"洋溢村党总支", "新北村党支部"}
    docx = next(n for n in names if n.endswith("新北责任书.docx"))
    assert docx.startswith("新北村党支部/1-1-1 ")
    assert hashlib.sha256(archive.read(docx)).hexdigest() == other.evidence_files[0].sha256
    assert "洋溢村党总支/目录.xlsx" in names and not any(n.endswith(".pdf") and "工作台账" in n
                                                     for n in names)


def _docx() -> bytes:
    import docx

    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("新北村责任书")
    document.save(out)
    return out.getvalue()


def test_bad_input_is_refused_with_exit_2(town, runner, tmp_path):
    cases = [
        (["--year", str(town.year), "-o", str(tmp_path / "x.pdf")], "give --unit"),
        (["--year", str(town.year), "--unit", "无此单位", "-o", str(tmp_path / "x.zip")],
         "no unit named"),
        (["--year", str(town.year), "-o", str(tmp_path / "x.txt")], ".pdf or .zip"),
        (["--year", str(town.year + 3), "-o", str(tmp_path / "x.zip")], str(town.year + 3)),
        (["--year", str(town.year), "--unit", town.units.a.name,
          "-o", str(tmp_path / "missing" / "x.pdf")], "cannot write"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["binder", "export", *args])
        assert result.exit_code == 2, (args, result.output)
        assert "Error:" in result.output and message in result.output, result.output
        assert "Traceback" not in result.output
    assert not list(tmp_path.rglob("x.*"))
