"""PDF from HTML with WeasyPrint, Chinese fonts embedded (the machine's Noto CJK)."""

import logging
import subprocess

from tracker.core.errors import TrackerError

#: The font families a CJK page asks for, in order (Debian's fonts-noto-cjk).
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC")


def cjk_font_or_error() -> str:
    """The first CJK font family installed (fontconfig), or a TrackerError saying what to
    install: without one, Chinese text would print as empty boxes."""
    for family in CJK_FAMILIES:
        try:
            found = subprocess.run(["fc-list", f"{family}:lang=zh", "family"],
                                   capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            break
        if found.strip():
            return family
    raise TrackerError("no Chinese font is installed for PDF output: install the Debian "
                       "package fonts-noto-cjk")


def render_pdf(html: str, base_url: str | None = None) -> bytes:
    """``html`` as PDF bytes (fonts embedded); TrackerError if no CJK font is installed."""
    cjk_font_or_error()
    import weasyprint

    # WeasyPrint and fontTools log every font they subset at INFO/WARNING.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return weasyprint.HTML(string=html, base_url=base_url).write_pdf()
