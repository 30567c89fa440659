"""The pieces every chart of the tracker draws the same way, as inline SVG (no script, a
title per bar): the opening tag with its accessible name, and the value grid. Pure."""

from markupsafe import escape


def svg_open(width: int, height: int, title: str) -> list[str]:
    """The chart's opening tag and title, named for screen readers."""
    return [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
            f"<title>{escape(title)}</title>"]


def value_grid(highest: int, left: float, right: float, top: float,
               plot_h: float) -> list[str]:
    """Five grid lines from 0 to ``highest`` across the plot, each with its value."""
    parts = []
    for tick in range(5):
        value = round(highest * tick / 4)
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e0e0e0"/><text x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end" font-size="10">{value}</text>')
    return parts
