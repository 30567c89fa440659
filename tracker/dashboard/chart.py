"""The town overview's chart: tasks due each month by state, as inline SVG. Pure."""

from markupsafe import Markup, escape

from tracker.core.svgchart import svg_open, value_grid
from tracker.tasks.models import DISPLAY_STATES

#: The states' colours (the same as the stylesheet's ``--<state>`` variables): each
#: reaches 4.5:1 against the text drawn on it in pages (white; dark on soon and
#: cancelled).
STATE_COLOURS = {"accepted": "#2e7d32", "submitted": "#1565c0", "returned": "#b35000",
                 "overdue": "#c62828", "soon": "#f9a825", "open": "#546e7a",
                 "cancelled": "#cfd8dc"}


def monthly_chart_svg(months: list[dict[str, int]], labels: list[str],
                      state_labels: dict[str, str], title: str) -> Markup:
    """A stacked bar per month: the tasks due that month by state. Inline SVG, no script."""
    width, height, left, bottom, top = 720, 260, 40, 30, 20
    plot_h = height - bottom - top
    highest = max([sum(m.values()) for m in months] + [1])
    bar_w = (width - left - 10) / max(len(months), 1)
    parts = [*svg_open(width, height, title),
             *value_grid(highest, left, width - 10, top, plot_h)]
    for i, counts in enumerate(months):
        x = left + i * bar_w + bar_w * 0.15
        y = top + plot_h
        for state in DISPLAY_STATES:
            n = counts.get(state, 0)
            if not n:
                continue
            h = plot_h * n / highest
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.7:.1f}" '
                         f'height="{h:.1f}" fill="{STATE_COLOURS[state]}">'
                         f"<title>{escape(labels[i])} {escape(state_labels[state])}: {n}"
                         f"</title></rect>")
        parts.append(f'<text x="{x + bar_w * 0.35:.1f}" y="{height - 12}" font-size="10" '
                     f'text-anchor="middle">{escape(labels[i])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
