"""HTML to PDF (WeasyPrint), with Chinese text in embedded fonts.

WeasyPrint lays the page out with Pango and finds fonts through fontconfig; it embeds
(subsets of) the fonts it uses, so a PDF prints the same on any computer. Where no font
covers Chinese, Pango would draw boxes: ``cjk_font_or_error`` refuses first, naming what
to install.
"""

import shutil
import subprocess

from tracker.core.errors import TrackerError

#: What to install on Debian for the pieces this module needs.
FONT_PACKAGE = "fonts-noto-cjk"
PANGO_PACKAGES = "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"
#: The families asked for first; any other font covering Chinese serves after them.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC",
                "WenQuanYi Micro Hei", "WenQuanYi Zen Hei")

_font_family: str | None = None


def cjk_font_or_error() -> str:
    """The family of an installed font that covers Chinese (fontconfig's ``:lang=zh``),
    preferring ``CJK_FAMILIES``; a TrackerError naming the package to install if none."""
    global _font_family
    if _font_family:
        return _font_family
    if not shutil.which("fc-list"):
        raise TrackerError(f"fontconfig is not installed, so no font for Chinese text can be "
                           f"found: apt-get install fontconfig {FONT_PACKAGE}")
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                            text=True, timeout=60).stdout
    families = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    families.discard("")
    if not families:
        raise TrackerError(f"no font that covers Chinese is installed, and a PDF would show "
                           f"boxes in place of characters: apt-get install {FONT_PACKAGE}")
    _font_family = next((f for f in CJK_FAMILIES if f in families), None) or min(families)
    return _font_family


def _weasyprint():
    try:
        import weasyprint
    except OSError as exc:  # Pango or its friends missing: cffi cannot load them
        raise TrackerError(f"WeasyPrint cannot load its libraries ({exc}): "
                           f"apt-get install {PANGO_PACKAGES}") from None
    return weasyprint


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """The PDF of ``html`` (its CSS included), fonts embedded. ``base_url`` resolves
    relative links and images (a folder's ``file://`` URL, say). The installed CJK family is
    the root's font unless the document's own CSS names another (a user stylesheet, below
    the author's), so Chinese never falls to a font without it."""
    family = cjk_font_or_error()
    weasyprint = _weasyprint()
    fallback = weasyprint.CSS(string=f'html {{ font-family: "{family}", sans-serif; }}')
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf(
        stylesheets=[fallback], uncompressed_pdf=False)
