"""Trend charts drawn on the server as SVG: no chart library, no script, works under a
strict Content-Security-Policy and prints as it looks. Each comes with its own summary in
words, and its lines differ in dash and marker shape as well as colour."""
import math
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from markupsafe import Markup, escape

COLOURS = ("#12324a", "#b3261e", "#1f7a3f", "#8a5300")
MARKERS = ("circle", "square", "triangle", "diamond")
DASHES = ("", "6 4", "2 3", "8 3 2 3")
LEGEND_WIDTH = 106
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


def _marker(index, cx, cy, colour, tooltip, kind="point"):
    """A data point (or its sample in the legend); each series has its own shape, so colour is
    not the only difference."""
    shape = MARKERS[index % len(MARKERS)]
    tip = f"<title>{escape(tooltip)}</title>"
    if shape == "circle":
        return f'<circle class="{kind}" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5" fill="{colour}">{tip}</circle>'
    if shape == "square":
        return (f'<rect class="{kind}" x="{cx - 3.5:.1f}" y="{cy - 3.5:.1f}" width="7" height="7" '
                f'fill="{colour}">{tip}</rect>')
    if shape == "triangle":
        d = f"M{cx:.1f},{cy - 4.5:.1f} L{cx + 4.5:.1f},{cy + 3.5:.1f} L{cx - 4.5:.1f},{cy + 3.5:.1f} Z"
    else:
        d = f"M{cx:.1f},{cy - 4.5:.1f} L{cx + 4.5:.1f},{cy:.1f} L{cx:.1f},{cy + 4.5:.1f} L{cx - 4.5:.1f},{cy:.1f} Z"
    return f'<path class="{kind}" d="{d}" fill="{colour}">{tip}</path>'


def summary(title, unit, series, tz="Europe/Amsterdam"):
    """The chart in one or two sentences, for whoever does not see it: count, period, first and
    last value, lowest and highest, per line."""
    zone = ZoneInfo(tz)
    parts = []
    for label, values in series.items():
        if not values:
            continue
        day = [t.astimezone(zone).strftime("%d-%m-%Y") for t, _ in (values[0], values[-1])]
        numbers = [v for _, v in values]
        name = f"{label[:1].upper()}{label[1:]}: " if len(series) > 1 else ""
        if len(values) == 1:
            value = f"{numbers[0]:g}"
            parts.append(name + _("één meting, %(value)s %(unit)s op %(day)s.", value=value, unit=unit, day=day[0]))
        else:
            shown = {"first": f"{numbers[0]:g}", "last": f"{numbers[-1]:g}", "low": f"{min(numbers):g}",
                     "high": f"{max(numbers):g}"}
            parts.append(name + _("%(num)s metingen van %(first_day)s tot %(last_day)s, van %(first)s naar %(last)s "
                                  "%(unit)s (laagste %(low)s, hoogste %(high)s).", num=len(values),
                                  first_day=day[0], last_day=day[1], unit=unit, **shown))
    if not parts:
        return _("%(title)s: nog geen metingen.", title=title)
    return f"{title}{'. ' if len(series) > 1 else ': '}" + " ".join(parts)


def line_chart(name, title, unit, series, tz="Europe/Amsterdam"):
    """A figure with an SVG line chart and, as its caption, the same in words (the screen
    reader's text alternative). `name` makes its ids (the same in every language), `series`
    is {label: [(aware datetime, value), ...]} in time order; returns Markup (every text escaped)."""
    ident = "chart-" + "".join(c if c.isalnum() else "-" for c in name.lower())
    caption = f'<figcaption id="{ident}-summary" class="chart-summary">{escape(summary(title, unit, series, tz))}</figcaption>'
    return Markup(f'<figure class="chart-figure">{_svg(title, unit, series, tz, ident)}{caption}</figure>')


def _svg(title, unit, series, tz, ident):
    points = [(t, v) for values in series.values() for t, v in values]
    head = (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg" '
            f'aria-label="{escape(title)} ({escape(unit)})" aria-describedby="{ident}-summary">'
            f'<title>{escape(title)}</title>'
            f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)} ({escape(unit)})</text>')
    if not points:
        empty = escape(_("Nog geen metingen"))
        return head + (f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" class="chart-empty">'
                       f'{empty}</text></svg>')
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
        dash = DASHES[index % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        if len(values) > 1:
            path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(v):.1f}" for i, (t, v) in enumerate(values))
            parts.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dashed}/>')
        for t, v in values:
            when = t.astimezone(zone).strftime("%d-%m-%Y")
            value = f"{v:g}"
            parts.append(_marker(index, x(t), y(v), colour,
                                 _("%(label)s %(value)s %(unit)s op %(day)s", label=label, value=value, unit=unit,
                                   day=when)))
        if len(series) > 1:  # the legend shows each line's dash and shape next to its name
            lx = WIDTH - RIGHT - LEGEND_WIDTH * (len(series) - index)
            parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="12" y2="12" stroke="{colour}" stroke-width="2"{dashed}/>'
                         + _marker(index, lx + 9, 12, colour, label, kind="key")
                         + f'<text x="{lx + 22}" y="16" class="legend" fill="{colour}">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


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
