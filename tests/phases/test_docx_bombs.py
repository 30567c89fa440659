"""Crafted .docx files (issue 27, R1): refused with ``Error: …`` and exit 2 by the real
``tracker plan import`` command, run in a process whose address space is capped, within a
time bound; and with a 400 page on the web."""

import io
import os
import re
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.phases.test_docximport import FRONT, ROWS, build
from tracker.core.wordfile import MAX_PART_BYTES
from tracker.phases.docximport import read_document
from tracker.phases.planfile import PlanError

TRACKER = str(Path(sys.executable).with_name("tracker"))
#: The address space the command may use: the interpreter, Flask, SQLAlchemy, lxml and
#: the app take about half of it; a bomb that expanded would need gigabytes.
MEMORY_CAP = 768 * 2**20
#: Seconds the command may take (start-up included, on a shared, busy machine).
TIME_BOUND = 30
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def parts_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def package(parts: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def with_document(xml: str | bytes) -> bytes:
    """The seed's .docx with another main document part."""
    parts = parts_of(SEED)
    parts["word/document.xml"] = xml.encode() if isinstance(xml, str) else xml
    return package(parts)


def edited(change) -> bytes:
    """The seed's .docx with its document part changed by ``change(xml) -> xml``."""
    parts = parts_of(SEED)
    return with_document(change(parts["word/document.xml"].decode()))


def table_of(rows: str) -> str:
    return (f'<w:document {W}><w:body><w:tbl><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/>'
            f'<w:gridCol/><w:gridCol/></w:tblGrid>{rows}</w:tbl></w:body></w:document>')


def cell(text="", props=""):
    return f"<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>"


HEADER = "<w:tr>" + "".join(cell(t) for t in ("一级项目", "二级项目", "工作要求", "扣分标准",
                                              "分值")) + "</w:tr>"


def patch_member(data: bytes, name: str, local_offset: int, central_offset: int,
                 value: bytes) -> bytes:
    """Overwrite bytes of one member's local and central headers (flags, method)."""
    data = bytearray(data)
    encoded = name.encode()
    for signature, offset, name_at in ((b"PK\x03\x04", local_offset, 30),
                                       (b"PK\x01\x02", central_offset, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at:start + name_at + len(encoded)] == encoded:
                data[start + offset:start + offset + len(value)] = value
                break
            start += 4
    return bytes(data)


def corrupt(data: bytes) -> bytes:
    """The document part's deflate stream with bytes in its middle garbled."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("word/document.xml")
    data = bytearray(data)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle:middle + 64] = bytes(64)
    return bytes(data)


def giant_run(path: Path) -> None:
    """A .docx of about 1 MB whose document part holds a run of 1 GiB, written in chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts_of(SEED).items():
            if name != "word/document.xml":
                archive.writestr(name, data)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            member.write(f"<w:document {W}><w:body><w:p><w:r><w:t>".encode())
            block = b"a" * 2**20
            for _i in range(1024):
                member.write(block)
            member.write(b"</w:t></w:r></w:p></w:body></w:document>")


def lying_size() -> bytes:
    """A member whose headers claim 100 bytes but that inflates to 32 MB."""
    big = f"<w:document {W}><w:body><w:p><w:r><w:t>".encode() + b"b" * (32 * 2**20)
    data = package({**parts_of(SEED), "word/document.xml": big})
    return patch_member(data, "word/document.xml", 22, 24, (100).to_bytes(4, "little"))


SEED = build(ROWS, front=FRONT)

BOMBS = {
    "gridSpan 200000000": (lambda: edited(lambda xml: xml.replace(
        "<w:tcPr>", '<w:tcPr><w:gridSpan w:val="200000000"/>', 5)), "is damaged"),
    "gridBefore 1000000000": (lambda: edited(lambda xml: xml.replace(
        "<w:tr>", '<w:tr><w:trPr><w:gridBefore w:val="1000000000"/></w:trPr>', 5)),
        "is damaged"),
    "gridSpan not a number": (lambda: edited(lambda xml: xml.replace(
        "<w:tcPr>", '<w:tcPr><w:gridSpan w:val="-1e9"/>', 1)), "is damaged"),
    "3000 vMerge rows": (lambda: with_document(table_of(
        HEADER + ("<w:tr>" + cell("1.组", "<w:vMerge/>") + cell() * 4 + "</w:tr>") * 3000)),
        "is damaged"),
    "1500 vMerge rows": (lambda: with_document(table_of(
        HEADER + "<w:tr>" + cell("1.组", '<w:vMerge w:val="restart"/>') + cell() * 4
        + "</w:tr>" + ("<w:tr>" + cell("", "<w:vMerge/>") + cell() * 4 + "</w:tr>") * 1500)),
        "holds no requirement"),
    "1000000 cells in a row": (lambda: with_document(table_of(
        HEADER + "<w:tr>" + "<w:tc/>" * 1_000_000 + "</w:tr>")), "is damaged"),
    "a grid of 100000 columns": (lambda: with_document(
        f'<w:document {W}><w:body><w:tbl><w:tblGrid>{"<w:gridCol/>" * 100_000}</w:tblGrid>'
        f'</w:tbl></w:body></w:document>'), "is damaged"),
    "entities": (lambda: with_document(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        f'<w:document {W}><w:body><w:p><w:r><w:t>&c;</w:t></w:r></w:p></w:body>'
        '</w:document>'), "is damaged"),
    "nested 10000 deep": (lambda: with_document(
        f'<w:document {W}><w:body>' + "<w:p>" * 10_000 + "</w:p>" * 10_000
        + "</w:body></w:document>"), "is damaged"),
    "encrypted entry": (lambda: patch_member(SEED, "word/document.xml", 6, 8, b"\x01\x00"),
                        "encrypted"),
    "deflate64": (lambda: patch_member(SEED, "word/document.xml", 8, 10, b"\x09\x00"),
                  "is damaged (compression method 9)"),
    "corrupt deflate data": (lambda: corrupt(SEED), "is damaged"),
    "size in the headers a lie": (lying_size, "is damaged"),
}


def run_capped(path: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, float]:
    """``tracker plan import PATH`` in a process whose address space is capped."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    env = {**os.environ, "TRACKER_INSTANCE_PATH": str(tmp_path / "instance")}
    started = time.monotonic()
    result = subprocess.run([TRACKER, "plan", "import", str(path)], env=env, preexec_fn=cap,
                            capture_output=True, text=True, timeout=TIME_BOUND * 2)
    return result, time.monotonic() - started


def assert_refused(result, message):
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert result.stderr.startswith("Error: "), result.stderr[-2000:]
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr


def file_name(name: str) -> str:
    return re.sub(r"\W+", "-", name) + ".docx"


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bombs")
    for name, (make, _message) in BOMBS.items():
        (folder / file_name(name)).write_bytes(make())
    giant_run(folder / "giant-run.docx")
    return folder


def test_the_cap_lets_a_good_document_through(bombs, tmp_path):
    """The cap is not what refuses the bombs: the seed's document imports under it."""
    path = bombs / "seed.docx"
    path.write_bytes(SEED)
    result, _seconds = run_capped(path, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "100 points, 5 groups, 32 rows" in result.stdout


@pytest.mark.parametrize("name", [*BOMBS, "giant run"])
def test_a_bomb_is_refused_in_bounded_time_and_memory(name, bombs, tmp_path):
    if name == "giant run":
        path, message = bombs / "giant-run.docx", "larger than"
        assert path.stat().st_size < 2 * 2**20
    else:
        path, message = bombs / file_name(name), BOMBS[name][1]
    result, seconds = run_capped(path, tmp_path)
    assert_refused(result, message)
    assert seconds < TIME_BOUND


def test_the_reader_itself_on_the_bombs():
    """In process, each bomb raises PlanError naming the file (nothing else escapes)."""
    for name, (make, message) in BOMBS.items():
        with pytest.raises(PlanError, match=f"^bomb.docx: .*{re.escape(message)}"):
            read_document(make(), "bomb.docx")
    assert MAX_PART_BYTES < 2**30


@pytest.fixture
def admin(app, town, login):
    app.config["WTF_CSRF_ENABLED"] = False
    return login(app.test_client(), town.users.admin)


def test_a_bomb_on_the_web_is_a_400_page(admin, town):
    for make, _message in (BOMBS["gridSpan 200000000"], BOMBS["deflate64"]):
        response = admin.post("/plans/import", data={
            "year": str(town.year + 1), "document": (io.BytesIO(make()), "方案.docx")},
            content_type="multipart/form-data")
        assert response.status_code == 400
        assert "is damaged" in response.get_data(as_text=True)

