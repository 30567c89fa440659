"""Evidence from phones and Chinese offices: HEIC photos, WPS Office and OFD documents,
several files at once, pictures shown as JPEG previews."""

import fcntl
import html
import io
import os
import re
import struct
import threading
import time
import zipfile
import zlib

import olefile
import pytest
import sqlalchemy as sa
from PIL import Image

from tests import samples
from tests.tasks.test_views import PDF, PNG, task_of
from tracker.extensions import db
from tracker.tasks import evidence
from tracker.tasks.models import EvidenceFile


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def send(client, task, *files):
    """POST ``(data, name)`` pairs to the task's upload, as one form with several files."""
    return client.post(f"/tasks/{task.id}/evidence",
                       data={"file": [(io.BytesIO(data), name) for data, name in files]},
                       content_type="multipart/form-data")


def stored():
    return db.session.scalars(sa.select(EvidenceFile).order_by(EvidenceFile.id)).all()


# -- what the bytes are (pure) ----------------------------------------------------------


@pytest.mark.parametrize("extension", ["wps", "et", "dps", "doc", "xls", "ppt"])
def test_the_ole_samples_are_real_compound_files(extension):
    data = samples.ole(extension)
    with olefile.OleFileIO(io.BytesIO(data)) as read:  # an independent reader
        assert read.listdir() == [[samples.STREAMS[extension]]]
    assert evidence.content_kind(data) == evidence.OLE


def test_content_kinds():
    assert evidence.content_kind(samples.heic()) == evidence.HEIF
    assert evidence.content_kind(samples.ofd()) == evidence.OFD
    assert evidence.content_kind(PDF) == "pdf"
    assert evidence.content_kind(PNG) == "png"
    assert Image.open(io.BytesIO(samples.heic())).format == "HEIF"


def zipped(**files) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in files.items():
            archive.writestr(name.replace("__", "/"), text)
    return out.getvalue()


@pytest.mark.parametrize("data", [
    zipped(**{"Doc_0__OFD.xml": "<ofd:OFD/>"}),  # not at the root
    zipped(**{"OFD.xml": "<html>no</html>"}),  # not an OFD root element
    zipped(**{"word__document.xml": "<w:document/>"}),
    b"PK\x03\x04 broken",
], ids=["nested", "other root", "other zip", "broken"])
def test_what_is_not_an_ofd(data):
    assert not evidence.is_ofd(data)


@pytest.mark.parametrize("data", [
    samples.ole("wps")[:600],  # cut short
    samples.ole("wps")[:26] + b"\x05\x00" + samples.ole("wps")[28:],  # no such version
    samples.ole("wps")[:28] + b"\xff\xfe" + samples.ole("wps")[30:],  # wrong byte order
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024),
], ids=["short", "version", "byte order", "signature only"])
def test_what_is_not_an_ole_file(data):
    assert not evidence.is_ole(data)


def test_what_is_not_a_heic():
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)
    mp4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64)
    assert not evidence.is_heif(avif) and not evidence.is_heif(mp4)
    assert not evidence.is_heif(samples.heic()[:12])


# -- uploads --------------------------------------------------------------------------


@pytest.mark.parametrize("data, name, mime", [
    (samples.heic(), "IMG_0001.HEIC", "image/heic"),
    (samples.heic(), "现场照片.heif", "image/heif"),
    (samples.ofd(), "书委〔2020〕29号.ofd", "application/ofd"),
    (samples.ole("wps"), "会议记录.wps", "application/vnd.ms-works"),
    (samples.ole("et"), "台账.et", "application/vnd.ms-excel"),
    (samples.ole("dps"), "汇报.dps", "application/vnd.ms-powerpoint"),
    (samples.ole("doc"), "记录.doc", "application/msword"),
])
def test_phone_and_office_formats_are_accepted_and_kept_as_sent(
        client, town, login, instance_path, data, name, mime):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = send(client, task, (data, name))
    assert response.status_code == 302, response.text
    file, = stored()
    assert file.original_name == name and file.content_type == mime
    assert (instance_path / "evidence" / file.stored_name).read_bytes() == data
    download = client.get(f"/tasks/{task.id}/evidence/{file.id}")
    assert download.data == data and download.headers["Content-Type"].startswith(mime)
    download.close()


@pytest.mark.parametrize("data, name", [
    (samples.heic(), "photo.jpg"),
    (samples.ole("wps"), "notice.ofd"),
    (zipped(**{"word__document.xml": "<w:document/>"}), "notice.ofd"),
    (PDF, "minutes.wps"),
    (samples.ofd(), "minutes.et"),
    (PNG, "photo.heic"),
])
def test_each_is_judged_by_its_content(client, town, login, data, name):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = send(client, task, (data, name))
    assert response.status_code == 400
    assert f"{name}: the content of '{name}' is not a .{name.rpartition('.')[2]} file" in \
        html.unescape(response.text)
    assert stored() == []


def test_several_files_at_once(client, town, login, instance_path):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    files = [(samples.heic(), "1.heic"), (samples.ofd(), "2.ofd"), (PDF, "3.pdf")]
    response = send(client, task, *files)
    assert response.status_code == 302
    assert [(f.original_name, (instance_path / "evidence" / f.stored_name).read_bytes())
            for f in stored()] == [(name, data) for data, name in files]
    page = client.get(response.headers["Location"]).text
    assert "3 files attached: 1.heic、2.ofd、3.pdf." in page


def test_one_bad_file_keeps_out_the_whole_upload(client, town, login, instance_path):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = send(client, task, (PDF, "1.pdf"), (b"MZ\x90\x00", "2.pdf"), (PNG, "3.png"))
    assert response.status_code == 400 and "2.pdf: the content" in response.text
    assert stored() == []
    assert not (instance_path / "evidence").exists() or not any(
        p.is_file() for p in (instance_path / "evidence").rglob("*"))


def test_too_many_files_at_once(app, client, town, login):
    app.config["MAX_UPLOAD_FILES"] = 2
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    response = send(client, task, (PDF, "1.pdf"), (PDF, "2.pdf"), (PDF, "3.pdf"))
    assert response.status_code == 400 and "At most 2 files at once." in response.text
    assert stored() == []


def test_the_upload_takes_several_files_and_offers_the_camera(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    page = client.get(f"/tasks/{task.id}").text
    field, = re.findall(r'<input [^>]*type="file"[^>]*>', page)
    assert " multiple" in field
    accept = field.split('accept="')[1].split('"')[0].split(",")
    assert "image/*" in accept  # phones offer the camera and the photo library
    assert {".heic", ".heif", ".ofd", ".wps", ".et", ".dps", ".pdf"} <= set(accept)
    assert "capture" not in field  # files from the phone, not the camera alone


# -- previews -------------------------------------------------------------------------


def test_a_heic_photo_is_shown_as_jpeg(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (samples.heic(640, 480, (200, 30, 30)), "IMG_0001.HEIC"))
    file, = stored()
    page = client.get(f"/tasks/{task.id}").text
    url = f"/tasks/{task.id}/evidence/{file.id}/preview"
    assert f'<img src="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
    assert "private" in response.headers["Cache-Control"]
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "JPEG" and image.size == (640, 480)
    red, green, blue = image.getpixel((320, 240))
    assert red > 150 and green < 80 and blue < 80
    # The browser keeps it: asked again with its tag, nothing is decoded or sent.
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_large_photo_is_previewed_smaller_and_upright(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (samples.jpeg(4000, 2000, orientation=6), "IMG_0002.jpg"))
    file, = stored()
    image = Image.open(io.BytesIO(client.get(
        f"/tasks/{task.id}/evidence/{file.id}/preview").data))
    assert image.size == (800, 1600)  # turned as the camera said, at most 1600 px


def test_documents_have_no_preview(client, town, login):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (PDF, "1.pdf"), (samples.ofd(), "2.ofd"))
    for file in stored():
        assert client.get(f"/tasks/{task.id}/evidence/{file.id}/preview").status_code == 404
    assert "<img" not in client.get(f"/tasks/{task.id}").text


def test_a_broken_picture_has_no_preview(client, town, login, instance_path):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (samples.heic(), "1.heic"))
    file, = stored()
    (instance_path / "evidence" / file.stored_name).write_bytes(samples.heic()[:200])
    assert client.get(f"/tasks/{task.id}/evidence/{file.id}/preview").status_code == 404


def huge_png(width: int, height: int) -> bytes:
    """A valid RGBA PNG of ``width``×``height`` transparent pixels, a few hundred kB:
    written row by row, never held whole."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    packer, row, parts = zlib.compressobj(9), b"\0" + bytes(width * 4), []
    for _ in range(height // 100):
        parts.append(packer.compress(row * 100))
    parts.append(packer.compress(row * (height % 100)) + packer.flush())
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))


def test_a_picture_too_large_to_decode_has_no_preview_and_costs_nothing(client, town, login):
    """An 8000×7999 RGBA PNG of ~250 kB would take ~950 MB and seconds to decode: it is
    refused from its header (at most MAX_PREVIEW_PIXELS), at once, view after view."""
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (huge_png(8000, 7999), "bomb.png"))
    file, = stored()
    assert evidence.MAX_PREVIEW_PIXELS <= 16_000_000
    started = time.monotonic()
    for _ in range(3):
        assert client.get(f"/tasks/{task.id}/evidence/{file.id}/preview").status_code == 404
    assert time.monotonic() - started < 1.5


def test_a_preview_is_made_once_and_the_original_never_decoded_again(client, town, login,
                                                                     instance_path):
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (samples.jpeg(1200, 900), "IMG_0003.jpg"))
    file, = stored()
    url = f"/tasks/{task.id}/evidence/{file.id}/preview"
    first = client.get(url)
    assert first.status_code == 200
    kept = instance_path / "evidence" / (file.stored_name + evidence.PREVIEW)
    assert kept.read_bytes() == first.data and oct(kept.stat().st_mode & 0o777) == "0o600"
    # The original spoilt: had it been decoded again, there would be no preview.
    (instance_path / "evidence" / file.stored_name).write_bytes(b"\xff\xd8broken")
    assert client.get(url).data == first.data
    # Removed with its picture.
    client.post(f"/tasks/{task.id}/evidence/{file.id}/delete")
    assert not kept.exists()


def test_pictures_are_decoded_one_at_a_time(client, town, login, instance_path):
    """While another worker decodes (holds the lock), a first view waits its turn."""
    task = task_of(town.units.a, "briefing")
    login(client, town.users.manager)
    send(client, task, (samples.jpeg(800, 600), "IMG_0004.jpg"))
    file, = stored()
    fd = os.open(instance_path / "evidence" / ".previews.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    answers = []
    viewer = threading.Thread(target=lambda: answers.append(
        client.get(f"/tasks/{task.id}/evidence/{file.id}/preview").status_code))
    viewer.start()
    time.sleep(0.6)
    waited = answers == []
    os.close(fd)
    viewer.join(20)
    assert waited and answers == [200]
