"""Pure helpers for calendar pages: grids, phase bands, the monthly chart."""

import calendar as stdcal
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

#: Order and colours of task states, shared by the legend, cells and the chart.
STATES = ["accepted", "submitted", "returned", "overdue", "soon", "open", "cancelled"]
STATE_COLOURS = {"accepted": "#2e7d32", "submitted": "#1565c0", "returned": "#ef6c00",
                 "overdue": "#c62828", "soon": "#f9a825", "open": "#90a4ae",
                 "cancelled": "#cfd8dc"}


def month_grid(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) that show ``month``, with days of the months around."""
    return stdcal.Calendar(firstweekday=0).monthdatescalendar(year, month)


def week_of(day: date) -> list[date]:
    """The Monday-to-Sunday week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


def shift_month(day: date, months: int) -> date:
    """The first day of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class Band:
    """A phase's stretch across one week row: skip ``before`` days, span ``span`` days."""

    phase: object
    before: int
    span: int
    after: int


def week_bands(week: list[date], phases: list[tuple[object, date, date]]) -> list[Band]:
    """The phases that cover some day of ``week``, one band each (overlaps give two)."""
    bands = []
    for phase, start, end in phases:
        covered = [i for i, day in enumerate(week) if start <= day <= end]
        if covered:
            first, last = covered[0], covered[-1]
            bands.append(Band(phase, first, last - first + 1, len(week) - last - 1))
    return bands


def monthly_chart_svg(months: list[dict[str, int]], labels: list[str],
                      state_labels: dict[str, str], title: str) -> Markup:
    """A stacked bar per month: the tasks due that month by state. Inline SVG, no script."""
    width, height, left, bottom, top = 720, 260, 40, 30, 20
    plot_h = height - bottom - top
    highest = max([sum(m.values()) for m in months] + [1])
    bar_w = (width - left - 10) / max(len(months), 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>"]
    for tick in range(5):
        value = round(highest * tick / 4)
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e0e0e0"/><text x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end" font-size="10">{value}</text>')
    for i, counts in enumerate(months):
        x = left + i * bar_w + bar_w * 0.15
        y = top + plot_h
        for state in STATES:
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
