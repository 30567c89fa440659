"""Evidence from a phone: a HEIC photo, an OFD and a WPS document chosen at once, sent
with a progress bar; the photo is shown (as JPEG: Chromium cannot show HEIC)."""

import sqlalchemy as sa

from tests import samples
from tests.browser.test_flow import PDF
from tests.browser.test_flow import sign_in
from tests.hostile import first_task
from tracker.extensions import db
from tracker.tasks.models import EvidenceFile

#: Records what the progress bar showed while the upload ran.
WATCH = """() => {
    window.seen = {shown: false, values: []};
    const box = document.querySelector('.upload-progress');
    const bar = box.querySelector('progress');
    new MutationObserver(() => { if (!box.hidden) window.seen.shown = true; })
        .observe(box, {attributes: true});
    new MutationObserver(() => window.seen.values.push([bar.value, bar.max]))
        .observe(bar, {attributes: true});
}"""


def test_photos_and_documents_from_a_phone(live_server, town, page_for, tmp_path):
    task = first_task(town.units.a)
    files = {"IMG_0001.HEIC": samples.heic(1200, 900), "通知.ofd": samples.ofd(),
             "会议记录.wps": samples.ole("wps"),
             # Large enough to be sent in several pieces.
             "扫描件.pdf": PDF + b"%" + b"0" * (6 * 1024 * 1024)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    page = page_for("manager", phone=True)
    sign_in(page, live_server, "manager@example.org")
    page.goto(f"{live_server}/tasks/{task.id}")
    field = page.locator("input[type=file]")
    assert field.get_attribute("multiple") is not None
    assert "image/*" in field.get_attribute("accept").split(",")
    page.evaluate(WATCH)
    field.set_input_files([str(tmp_path / name) for name in files])
    page.locator("form[data-upload] button").click()
    flash = page.locator(".flash.success")
    flash.wait_for()
    assert "4" in flash.inner_text()
    # The news has the focus (a screen reader reads it).
    assert page.evaluate("document.activeElement.classList.contains('flash')")
    seen = page.evaluate("window.seen")
    assert seen["shown"] and seen["values"][-1][0] == seen["values"][-1][1] > 6 * 1024 * 1024
    assert page.url == f"{live_server}/tasks/{task.id}"

    kept = {f.original_name: f for f in db.session.scalars(sa.select(EvidenceFile))}
    assert set(kept) == set(files)
    listed = page.locator("ul.files li")
    assert listed.count() == 4
    photo = page.locator("ul.files img")
    photo.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('ul.files img').complete")
    assert photo.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [1200, 900]


def test_a_refused_file_is_said_in_the_page(live_server, town, page_for, tmp_path):
    task = first_task(town.units.a)
    (tmp_path / "photo.heic").write_bytes(PDF)
    page = page_for("manager", phone=True, locale="en-US")
    sign_in(page, live_server, "manager@example.org")
    page.goto(f"{live_server}/tasks/{task.id}")
    page.expected_errors.add(f"{live_server}/tasks/{task.id}/evidence")  # the 400
    page.set_input_files("input[type=file]", str(tmp_path / "photo.heic"))
    page.locator("form[data-upload] button").click()
    error = page.locator("form[data-upload] .error").first
    error.wait_for()
    assert "photo.heic: the content of 'photo.heic' is not a .heic file" in error.inner_text()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile)) == 0
