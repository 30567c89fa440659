"""Sample files that phones and Chinese offices send, made by the tests: a HEIC photo
(pillow-heif), an OFD document (a ZIP with OFD.xml at its root, GB/T 33190) and WPS
Office files (.wps/.et/.dps: OLE compound files, written here by a small MS-CFB writer
and read back by olefile, an independent parser, in tests/tasks/test_evidence.py)."""

import io
import struct
import zipfile

FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
#: The main stream of each WPS Office (and MS Office 97-2003) kind of file.
STREAMS = {"wps": "WordDocument", "doc": "WordDocument", "et": "Workbook", "xls": "Workbook",
           "dps": "PowerPoint Document", "ppt": "PowerPoint Document"}


def heic(width: int = 64, height: int = 48, colour=(200, 30, 30)) -> bytes:
    """A HEIC photo of one colour, as an iPhone's camera writes them (HEVC in HEIF)."""
    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="HEIF", quality=90)
    return out.getvalue()


def jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    """A JPEG, wider than high, with an EXIF orientation if given (6: turned 90°)."""
    from PIL import Image

    image = Image.new("RGB", (width, height), (20, 120, 200))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def ofd(title: str = "关于开展意识形态工作自查的通知") -> bytes:
    """An OFD document: OFD.xml at the root points at the document and its one page."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    files = {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD {ns} Version="1.0" '
                   f'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>0</ofd:DocID>'
                   f'<ofd:Title>{title}</ofd:Title></ofd:DocInfo>'
                   f'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>',
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document {ns}>'
                              '<ofd:CommonData><ofd:MaxUnitID>1</ofd:MaxUnitID>'
                              '<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox>'
                              '</ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="1" '
                              'BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        "Doc_0/Pages/Page_0/Content.xml": f'<?xml version="1.0" encoding="UTF-8"?>\n'
                                          f'<ofd:Page {ns}><ofd:Content/></ofd:Page>',
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def ole(extension: str = "wps", size: int = 4096) -> bytes:
    """An OLE compound file (MS-CFB version 3) holding the main stream of ``extension``'s
    kind of document: the container .wps/.et/.dps (and .doc/.xls/.ppt) files are."""
    stream = STREAMS[extension]
    payload = (stream.encode() * (size // len(stream) + 1))[:size]
    data_sectors = -(-size // 512)
    # Sector 0: the allocation table; 1: the directory; 2...: the stream.
    fat = [FAT_SECTOR, END] + [3 + i for i in range(data_sectors - 1)] + [END]
    fat += [FREE] * (128 - len(fat))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("d0cf11e0a1b11ae1"), bytes(16), 0x3E, 3,
        0xFFFE, 9, 6, bytes(6), 0, 1, 1, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", 0, *([FREE] * 108))
    directory = (_entry("Root Entry", 5, child=1, start=END, size=0)
                 + _entry(stream, 2, start=2, size=size) + _unused() + _unused())
    body = payload + bytes(data_sectors * 512 - size)
    return header + struct.pack("<128I", *fat) + directory + body


def _entry(name: str, kind: int, start: int, size: int, child: int = NO_STREAM) -> bytes:
    encoded = name.encode("utf-16-le") + b"\0\0"
    return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, NO_STREAM,
                       NO_STREAM, child, bytes(16), 0, 0, 0, start, size)


def _unused() -> bytes:
    return struct.pack("<64sHBBIII16sIQQIQ", bytes(64), 0, 0, 0, NO_STREAM, NO_STREAM,
                       NO_STREAM, bytes(16), 0, 0, 0, 0, 0)
