"""Trend charts drawn on the server as SVG: no chart library, no script, works under a
strict Content-Security-Policy and prints as it looks."""
import math
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

COLOURS = ("#12324a", "#b3261e", "#1f7a3f", "#b36b00")
WIDTH, HEIGHT = 420, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 30, 30


def ticks(low, high, count=4):
    """Round axis values (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering low..high."""
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    last = math.ceil(high / step) * step
    return [first + i * step for i in range(int(round((last - first) / step)) + 1)], step


def line_chart(title, unit, series, tz="Europe/Amsterdam"):
    """An SVG line chart. `series` is {label: [(aware datetime, value), ...]} in time order;
    returns Markup (every text escaped)."""
    points = [(t, v) for values in series.values() for t, v in values]
    head = (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg" '
            f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
            f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)} ({escape(unit)})</text>')
    if not points:
        return Markup(head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">'
                             'Nog geen metingen</text></svg>')
    zone = ZoneInfo(tz)
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    axis, step = ticks(min(v for _, v in points), max(v for _, v in points))
    low, high = axis[0], axis[-1]
    decimals = 0 if step >= 1 else 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment):
        return LEFT + (plot_w / 2 if t1 == t0 else plot_w * (moment.timestamp() - t0) / (t1 - t0))

    def y(value):
        return TOP + plot_h * (1 - (value - low) / (high - low))

    parts = [head]
    for value in axis:  # horizontal grid with values
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="grid"/>'
                     f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" class="tick">{value:.{decimals}f}</text>')
    moments = sorted({t for t, _ in points})
    shown = moments if len(moments) <= 6 else [moments[i * (len(moments) - 1) // 5] for i in range(6)]
    for moment in shown:
        label = moment.astimezone(zone).strftime("%d-%m")
        anchor = "end" if x(moment) > WIDTH - RIGHT - 20 else "start" if x(moment) < LEFT + 20 else "middle"
        parts.append(f'<text x="{x(moment):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}" class="tick">{label}</text>')
    for index, (label, values) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        if len(values) > 1:
            path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(values))
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for t, v in values:
            when = t.astimezone(zone).strftime("%d-%m-%Y")
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                         f'<title>{escape(label)} {v:g} {escape(unit)} op {when}</title></circle>')
        if len(series) > 1:
            legend_x = WIDTH - RIGHT - 78 * (len(series) - index)
            parts.append(f'<text x="{legend_x}" y="16" class="legend" fill="{colour}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def series_from(measurements, *fields):
    """{field: [(time, value)]} from API-shaped measurement dicts (any order), oldest first."""
    from common.clock import parse_iso
    found = {field: [] for field in fields}
    for item in sorted(measurements, key=lambda m: m["at"]):
        for field in fields:
            value = item.get(field)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[field].append((parse_iso(item["at"]), float(value)))
    return found
