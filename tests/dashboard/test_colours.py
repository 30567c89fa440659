"""The state colours: one set for the stylesheet and the chart, each readable with the
text drawn on it (WCAG 2.2 AA: 4.5:1), whatever state a page happens to show."""

import re

import pytest

from tracker.core.paths import STATIC
from tracker.dashboard.chart import STATE_COLOURS
from tracker.tasks.models import DISPLAY_STATES

CSS = (STATIC / "style.css").read_text(encoding="utf-8")


def luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.x) of ``#rrggbb``."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def variables() -> dict[str, str]:
    """The stylesheet's ``--name: #rrggbb`` custom properties of :root."""
    root = re.search(r":root\s*\{([^}]*)\}", CSS).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", root))


def text_on(state: str) -> str:
    """The text colour a state's badge or count uses (``--on``; white by default)."""
    rule = re.search(rf"\.state-{state}\s*\{{([^}}]*)\}}", CSS).group(1)
    on = re.search(r"--on:\s*([^;]+);", rule)
    if on is None:
        return "#ffffff"
    value = on.group(1).strip()
    return variables()[value[6:-1]] if value.startswith("var(--") else value


def test_the_stylesheet_and_the_chart_use_the_same_state_colours():
    css = variables()
    assert {state: css[state].lower() for state in DISPLAY_STATES} == {
        state: colour.lower() for state, colour in STATE_COLOURS.items()}


@pytest.mark.parametrize("state", DISPLAY_STATES)
def test_each_state_colour_reaches_4_5_to_1_with_its_text(state):
    assert contrast(STATE_COLOURS[state], text_on(state)) >= 4.5, state


def test_muted_text_and_links_reach_4_5_to_1_on_every_background():
    css = variables()
    for foreground in (css["muted"], css["link"], css["fg"], css["overdue"]):
        for background in (css["bg"], "#ffffff", "#f3f5f7", "#eef2f5", "#fff8e1"):
            assert contrast(foreground, background) >= 4.5, (foreground, background)


def test_the_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#6b7785", "#f7f9fb") == pytest.approx(4.32, abs=0.01)  # axe's figure
