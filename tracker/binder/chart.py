"""The year in figures' charts, as inline SVG in the style of the town overview's chart
(tracker.dashboard.chart): no script, a title per bar. Pure."""

from markupsafe import Markup, escape

from tracker.core.svgchart import svg_open, value_grid

#: The series' colours: the overview's accepted green, submitted blue and returned orange.
COLOURS = {"held": "#1565c0", "accepted": "#2e7d32", "on_time": "#2e7d32", "late": "#b35000"}


def _legend(series: dict[str, str], x: float, y: float) -> list[str]:
    parts = []
    for key, label in series.items():
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" '
                     f'fill="{COLOURS[key]}"/><text x="{x + 14:.1f}" y="{y:.1f}" '
                     f'font-size="11">{escape(label)}</text>')
        x += 24 + 12 * len(label)
    return parts


def bars_svg(months: list[dict[str, int]], labels: list[str], series: dict[str, str],
             title: str) -> Markup:
    """Bars side by side per month, one per series (e.g. sessions held, work accepted)."""
    width, height, left, bottom, top = 720, 280, 40, 30, 40
    plot_h = height - bottom - top
    highest = max([m.get(k, 0) for m in months for k in series] + [1])
    slot = (width - left - 10) / max(len(months), 1)
    bar = slot * 0.7 / max(len(series), 1)
    parts = [*svg_open(width, height, title), *_legend(series, left, 16),
             *value_grid(highest, left, width - 10, top, plot_h)]
    for i, counts in enumerate(months):
        x = left + i * slot + slot * 0.15
        for j, (key, label) in enumerate(series.items()):
            n = counts.get(key, 0)
            h = plot_h * n / highest
            if n:
                parts.append(f'<rect x="{x + j * bar:.1f}" y="{top + plot_h - h:.1f}" '
                             f'width="{bar:.1f}" height="{h:.1f}" fill="{COLOURS[key]}">'
                             f"<title>{escape(labels[i])} {escape(label)}: {n}</title></rect>")
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{escape(labels[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def unit_bars_svg(totals: dict[str, dict[str, int]], series: dict[str, str],
                  title: str) -> Markup:
    """A stacked horizontal bar per unit (e.g. work accepted on time and late)."""
    row_h, left, right, top = 18, 170, 50, 30
    width = 720
    height = top + row_h * max(len(totals), 1) + 10
    highest = max([sum(t.get(k, 0) for k in series) for t in totals.values()] + [1])
    plot_w = width - left - right
    parts = [*svg_open(width, height, title), *_legend(series, left, 16)]
    for i, (unit, counts) in enumerate(totals.items()):
        y = top + i * row_h
        parts.append(f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
                     f"{escape(unit[:14])}</text>")
        x = left
        for key, label in series.items():
            n = counts.get(key, 0)
            if not n:
                continue
            w = plot_w * n / highest
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 4}" '
                         f'fill="{COLOURS[key]}"><title>{escape(unit)} {escape(label)}: {n}'
                         f"</title></rect>")
            x += w
        total = sum(counts.get(k, 0) for k in series)
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 12}" font-size="10">{total}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
