"""Benchmark: the 工作台账.

(a) one unit with 50 tasks and 200 evidence files (100 of them photos, phone-sized JPEGs
    and some HEIC; 60 PDFs; 40 Office files): its binder PDF in at most 10 s and
    300 MB peak RSS (the build in a process of its own, `tracker binder export`); the CPU
    time is reported beside the wall time, which on a shared machine is mostly waiting;
(b) the same unit's ZIP (with the PDF): at most 15 s;
(c) the town's ZIP of 300 units (3 files each, no PDFs): its peak RSS within 1.5x of one
    unit's ZIP: memory does not grow with the town.

    python3 dev.py bench binder     # or: .venv/bin/python bench/bench_binder.py
"""

import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import add_town, bench_app, report, temp_dir  # noqa: E402

YEAR = 2026
NOW = datetime(2026, 11, 20, 2, tzinfo=timezone.utc)
BIN = Path(sys.executable).parent

#: Runs a command in this process and prints its wall time, CPU time (start-up included)
#: and peak RSS (KiB) as JSON.
#: The peak is the kernel's VmHWM of this process image: ru_maxrss would carry the
#: forking parent's size over the exec.
MEASURE = """
import json, re, resource, sys, time
from pathlib import Path
from tracker.cli import main
started = time.perf_counter()
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    status = Path("/proc/self/status").read_text()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": time.perf_counter() - started,
                      "cpu": usage.ru_utime + usage.ru_stime,
                      "rss_kib": int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))}),
          file=sys.stderr)
"""


def photo(i: int) -> bytes:
    """A phone-sized JPEG (4032x3024) with some detail, different for each ``i``."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (4032, 3024), (40 + i % 200, 90, 160))
    draw = ImageDraw.Draw(image)
    for k in range(0, 4032, 96):
        draw.line([(k, 0), (4032 - k, 3024)], fill=(255, (k + i) % 255, 80), width=7)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def heic(i: int) -> bytes:
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (2016, 1512), (200, 30 + i, 30)).save(out, format="HEIF", quality=80)
    return out.getvalue()


def documents() -> dict[str, bytes]:
    """A 1-page and a 3-page PDF (WeasyPrint, fonts embedded), a .docx and an .xlsx."""
    import docx
    from openpyxl import Workbook

    from tracker.core.pdf import render_pdf

    text = "<p>" + "关于落实意识形态工作责任制的会议记录。" * 40 + "</p>"
    out = {"one.pdf": render_pdf(f"<html><body>{text}</body></html>"),
           "three.pdf": render_pdf("<html><body>" + (text + '<p style="break-after:page">'
                                                     "</p>") * 3 + "</body></html>")}
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("会议纪要 " * 200)
    document.save(buffer)
    out["doc.docx"] = buffer.getvalue()
    buffer = io.BytesIO()
    book = Workbook()
    for r in range(200):
        book.active.append([f"第{r}行", r, r * 2])
    book.save(buffer)
    out["sheet.xlsx"] = buffer.getvalue()
    return out


def attach(task, name: str, data: bytes, user, folder) -> None:
    from tracker.tasks import evidence
    from tracker.tasks.services import add_evidence

    checked = evidence.check(data, name, 50 * 1024 * 1024)
    add_evidence(task, user, checked, evidence.store(data, checked, folder, task.year), NOW)


def build(tmp: str) -> dict:
    """The bench town: 300 units with the plan; unit 0 with 200 files on 50 tasks, every
    other unit with 3 files. Returns the names to export."""
    import sqlalchemy as sa

    from tracker.auth.models import Role
    from tracker.auth.services import create_user
    from tracker.extensions import db
    from tracker.phases.planfile import read_plan
    from tracker.tasks import evidence
    from tracker.tasks.loading import load_plan
    from tracker.tasks.models import Task, TaskStatus
    from tracker.units.models import Unit, UnitKind

    add_town(300)
    load_plan(read_plan("shuyuan-2020"), YEAR, NOW)
    db.session.commit()
    units = db.session.scalars(sa.select(Unit).where(Unit.kind != UnitKind.COORDINATOR)
                               .order_by(Unit.id)).all()
    big = units[0]
    user = create_user("bench@example.org", Role.MANAGER, "bench password 12345", unit=big)
    folder = evidence.folder()
    docs = documents()
    tasks = db.session.scalars(sa.select(Task).where(Task.unit_id == big.id)
                               .order_by(Task.due_date, Task.id)).all()
    while len(tasks) < 50:  # a branch has fewer duties than a village: more slots
        tasks += tasks[:50 - len(tasks)]
    tasks = tasks[:50]
    kinds = ([("jpg", i) for i in range(90)] + [("heic", i) for i in range(10)]
             + [("one.pdf", i) for i in range(40)] + [("three.pdf", i) for i in range(20)]
             + [("doc.docx", i) for i in range(20)] + [("sheet.xlsx", i) for i in range(20)])
    photos = [photo(i) for i in range(10)]  # ten distinct photos, each filed nine times
    for n, (kind, i) in enumerate(kinds):
        task = tasks[n % 50]
        if kind == "jpg":
            attach(task, f"现场照片{n}.jpg", photos[i % 10], user, folder)
        elif kind == "heic":
            attach(task, f"IMG_{n}.heic", heic(i), user, folder)
        else:
            attach(task, f"材料{n}-{kind}", docs[kind], user, folder)
    for task in {t.id: t for t in tasks}.values():
        task.status, task.submitted_at, task.submitted_by = TaskStatus.ACCEPTED, NOW, user
    small = docs["one.pdf"]
    for unit in units[1:]:
        task = db.session.scalars(sa.select(Task).where(Task.unit_id == unit.id)
                                  .order_by(Task.due_date).limit(1)).one()
        for k in range(3):
            attach(task, f"文件{k}.pdf", small, None, folder)
        db.session.flush()
    db.session.commit()
    return {"big": big.name}


def measure(env: dict, *args: str) -> dict:
    completed = subprocess.run([str(BIN / "python"), "-c", MEASURE, *args], env=env,
                               capture_output=True, text=True)
    if completed.returncode:
        raise SystemExit(f"tracker {' '.join(args)} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stderr.strip().splitlines()[-1])


def main():
    with temp_dir() as tmp:
        app = bench_app(tmp, "binder")
        with app.app_context():
            started = time.perf_counter()
            names = build(tmp)
            print(f"  bench town built in {time.perf_counter() - started:.0f} s")
            app.extensions["sqlalchemy"].engine.dispose()
        env = {**os.environ, "TRACKER_INSTANCE_PATH": str(Path(tmp) / "instance"),
               "TRACKER_SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
               "TRACKER_SECRET_KEY": "bench"}
        out = Path(tmp)
        year = str(YEAR)
        pdf = measure(env, "binder", "export", "--year", year, "--unit", names["big"],
                      "-o", str(out / "big.pdf"))
        unit_zip = measure(env, "binder", "export", "--year", year, "--unit", names["big"],
                           "-o", str(out / "big.zip"))
        one = measure(env, "binder", "export", "--year", year, "--unit", names["big"],
                      "--without-pdf", "-o", str(out / "one.zip"))
        town = measure(env, "binder", "export", "--year", year, "--without-pdf",
                       "-o", str(out / "town.zip"))
        pages = len(__import__("pikepdf").open(out / "big.pdf").pages)
        town_mb = (out / "town.zip").stat().st_size / 1e6
    ratio = town["rss_kib"] / one["rss_kib"]
    print(f"  unit binder: {pages} pages, {pdf['seconds']:.1f} s, "
          f"{pdf['rss_kib'] / 1024:.0f} MB peak; town ZIP {town_mb:.0f} MB, "
          f"{town['seconds']:.1f} s, {town['rss_kib'] / 1024:.0f} MB peak "
          f"(one unit's ZIP {one['rss_kib'] / 1024:.0f} MB)")
    report("binder", [
        {"figure": "(a) unit binder PDF, 50 tasks, 200 files (s)",
         "value": round(pdf["seconds"], 1), "target": "<= 10", "met": pdf["seconds"] <= 10},
        {"figure": "(a) the same, CPU time (s; the wall time of an idle machine)",
         "value": round(pdf["cpu"], 1), "target": "<= 10", "met": pdf["cpu"] <= 10},
        {"figure": "(a) unit binder PDF, peak RSS (MB)",
         "value": round(pdf["rss_kib"] / 1024), "target": "<= 300",
         "met": pdf["rss_kib"] <= 300 * 1024},
        {"figure": "(b) unit binder ZIP with its PDF (s)",
         "value": round(unit_zip["seconds"], 1), "target": "<= 15",
         "met": unit_zip["seconds"] <= 15},
        {"figure": "(c) town ZIP, 300 units, peak RSS / one unit's ZIP",
         "value": round(ratio, 2), "target": "<= 1.5", "met": ratio <= 1.5},
    ])


if __name__ == "__main__":
    main()
