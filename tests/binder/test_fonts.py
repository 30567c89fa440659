"""No font for Chinese: a clear error naming the package, never a PDF of boxes."""

import pytest

from tracker.core import pdf
from tracker.core.errors import TrackerError


@pytest.fixture
def no_cached_font(monkeypatch):
    monkeypatch.setattr(pdf, "_font_family", None)


def test_a_font_for_chinese_is_found(no_cached_font):
    assert pdf.cjk_font_or_error()  # CI and dev.py install fonts-noto-cjk


def test_without_one_the_error_names_the_package(no_cached_font, monkeypatch, tmp_path):
    # fontconfig with no font folders at all: what a fresh machine without fonts has.
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?><fontconfig><cachedir>'
                      f'{tmp_path}/cache</cachedir></fontconfig>')
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    with pytest.raises(TrackerError, match="apt-get install fonts-noto-cjk"):
        pdf.cjk_font_or_error()
    with pytest.raises(TrackerError, match="apt-get install fonts-noto-cjk"):
        pdf.render_pdf("<p>工作台账</p>")


def test_without_fontconfig_the_error_names_it(no_cached_font, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TrackerError, match="apt-get install fontconfig fonts-noto-cjk"):
        pdf.cjk_font_or_error()


def test_the_cli_says_so_with_exit_2(town, runner, no_cached_font, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = runner.invoke(args=["binder", "export", "--year", str(town.year), "--unit",
                                 town.units.a.name, "-o", str(tmp_path / "a.pdf")])
    assert result.exit_code == 2 and "Error:" in result.output
    assert "fonts-noto-cjk" in result.output and not (tmp_path / "a.pdf").exists()
