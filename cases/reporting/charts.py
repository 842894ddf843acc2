"""Server-rendered SVG charts for the dashboard, and the dashboard's charts of a report.

The strict CSP allows no `style` attribute, no `<style>` element and no script,
so everything is drawn with SVG presentation attributes (fill, stroke,
font-size…). Each chart is an `<svg role="img">` named by its `<title>` and
described by a `<desc>` that states the figures in words; every bar carries a
`<title>` with its value (the browser's tooltip). The page shows the table behind
each chart as well, so nothing depends on seeing the colours.

All text is escaped here; the functions return Markup.
"""

import math
from datetime import date

from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from markupsafe import Markup, escape

from cellule import formatting
from contacts.labels import CHANNEL_LABELS
from triage.vocab import LEVELS, ROUTES

from ..labels import LEVEL_LABELS, QUEUE_LABELS, ROUTE_LABELS, TASK_KIND_LABELS
from ..models import QUEUES, TASK_KINDS
from .figures import AGE_BANDS, SCORES
from .labels import AGE_BAND_LABELS

# Okabe–Ito colours (distinguishable with the common colour-vision deficiencies).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",
           "#000000")
TEXT = "#1f2a24"
MUTED = "#5f6b65"
GRID = "#d9dfdb"
TARGET = "#b00020"
FONT = 12
# A generous advance of a 12px sans-serif character, for layout only: a label is given room
# for its widest rendering (accents, capitals) rather than cut at the edge of the chart.
CHAR_WIDTH = 7.4
LABEL_CHARS = 30  # a category label longer than this wraps onto a second line


def _e(value):
    return escape(str(value))


def fmt(value, unit=""):
    """A value as the user's locale writes it: unit "" (a number), "h" (hours), "%"."""
    if unit == "h":
        return formatting.hours(value)
    if unit == "%":
        return formatting.percent(value)
    return formatting.number(value)


def wrap(label, width=LABEL_CHARS):
    """A label as lines of at most `width` characters, cut between words."""
    lines = []
    for word in str(label).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def nice_ticks(maximum, count=4, integer=False):
    """Round tick values from 0 covering `maximum` (at least one step); whole steps for
    counts."""
    if not maximum or maximum <= 0:
        return [0, 1]
    raw = maximum / count
    if integer and raw < 1:
        raw = 1
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    top = step * math.ceil(maximum / step)
    ticks, value = [], 0.0
    while value <= top + step / 2:
        ticks.append(round(value, 6))
        value += step
    return ticks


class _Svg:
    def __init__(self, chart_id, title, desc, width, height):
        self.id = chart_id
        self.title = title
        self.desc = desc
        self.width = width
        self.height = height
        self.parts = []

    def add(self, markup):
        self.parts.append(markup)

    def rect(self, x, y, w, h, fill, tooltip=None, **attrs):
        extra = "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
        inner = f"<title>{_e(tooltip)}</title>" if tooltip else ""
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" '
                 f'height="{max(h, 0):.1f}" fill="{fill}"{extra}>{inner}</rect>')

    def text(self, x, y, content, anchor="start", fill=TEXT, size=FONT, weight=None, **attrs):
        """A text; a list is drawn as lines, centred on `y`."""
        extra = f' font-weight="{weight}"' if weight else ""
        extra += "".join(f' {k.replace("_", "-")}="{_e(v)}"' for k, v in attrs.items())
        if isinstance(content, list):
            y -= (len(content) - 1) * (size + 2) / 2
            inner = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else size + 2}">{_e(line)}'
                            f'</tspan>' for i, line in enumerate(content))
        else:
            inner = _e(content)
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
                 f'font-size="{size}"{extra}>{inner}</text>')

    def line(self, x1, y1, x2, y2, stroke=GRID, width=1, dash=None):
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="{stroke}" stroke-width="{width}"{extra}/>')

    def legend(self, series, x, y):
        """Rows of colour keys from `x`, wrapped at the chart's width; returns the height
        used."""
        start, rows = x, 1
        for name, label, colour in series:
            step = 14 + len(str(label)) * CHAR_WIDTH + 16
            if x > start and x + step - 16 > self.width:
                x, y, rows = start, y + 18, rows + 1
            self.rect(x, y - 9, 10, 10, colour, data_series=name)
            self.text(x + 14, y, label)
            x += step
        return 18 * rows

    def render(self):
        i = _e(self.id)
        # Every value below is escaped with _e.
        return Markup(  # nosec B704
            f'<svg xmlns="http://www.w3.org/2000/svg" id="{i}" class="chart" role="img" '
            f'aria-labelledby="{i}-title {i}-desc" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" '
            f'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="{FONT}">'
            f'<title id="{i}-title">{_e(self.title)}</title>'
            f'<desc id="{i}-desc">{_e(self.desc)}</desc>'
            + "".join(self.parts)
            + "</svg>"
        )


def _coloured(series):
    return [(name, label, PALETTE[i % len(PALETTE)], values)
            for i, (name, label, values) in enumerate(series)]


def column_chart(chart_id, title, desc, labels, series, stacked=True, width=560, height=260,
                 unit=""):
    """Vertical bars per category (e.g. per day), stacked or side by side.

    `series`: [(name, label, [value per category])]; None values draw nothing.
    """
    series = _coloured(series)
    svg = _Svg(chart_id, title, desc, width, height)
    legend_h = svg.legend([(n, lab, c) for n, lab, c, _ in series], 48, 14) + 8
    left, right, top, bottom = 48, 12, legend_h + 6, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    if stacked:
        peak = max((sum(v[i] or 0 for *_, v in series) for i in range(len(labels))), default=0)
    else:
        peak = max((x or 0 for *_, v in series for x in v), default=0)
    ticks = nice_ticks(peak, integer=True)
    scale = plot_h / ticks[-1]
    for tick in ticks:
        y = top + plot_h - tick * scale
        svg.line(left, y, left + plot_w, y)
        svg.text(left - 6, y + 4, fmt(tick), anchor="end", fill=MUTED)
    band = plot_w / n
    every = max(1, math.ceil(n / max(1, plot_w // 60)))
    for i, label in enumerate(labels):
        x0 = left + i * band
        if stacked:
            bar_w = max(band * 0.72, 1)
            base = top + plot_h
            for name, series_label, colour, values in series:
                value = values[i]
                if not value:
                    continue
                h = value * scale
                base -= h
                svg.rect(x0 + (band - bar_w) / 2, base, bar_w, h, colour,
                         f"{label} · {series_label}: {fmt(value, unit)}", data_series=name)
        else:
            bar_w = max(band * 0.8 / len(series), 1)
            start = x0 + band * 0.1
            for j, (name, series_label, colour, values) in enumerate(series):
                value = values[i]
                if value is None:
                    continue
                h = value * scale
                svg.rect(start + j * bar_w, top + plot_h - h, bar_w * 0.92, h, colour,
                         f"{label} · {series_label}: {fmt(value, unit)}", data_series=name)
        if i % every == 0:
            svg.text(x0 + band / 2, top + plot_h + 16, label, anchor="middle", fill=MUTED)
    svg.line(left, top + plot_h, left + plot_w, top + plot_h, stroke=MUTED)
    return svg.render()


def bar_chart(chart_id, title, desc, labels, series, width=560, unit="", target=None,
              maximum=None, integer=True):
    """Horizontal bars per category (e.g. per level), one bar per series.

    `series`: [(name, label, [value per category])]; `target`: a value marked by a line.
    """
    series = _coloured(series)
    lines = [wrap(lab) for lab in labels]
    label_w = max((len(line) for ls in lines for line in ls), default=4) * CHAR_WIDTH + 12
    legend = len(series) > 1
    row_h = max(10 + 16 * len(series), 6 + 14 * max((len(ls) for ls in lines), default=1))
    svg = _Svg(chart_id, title, desc, width, 0)
    top = (svg.legend([(n, lab, c) for n, lab, c, _ in series], label_w, 14) + 12
           if legend else 8)
    svg.height = int(top + row_h * max(len(labels), 1) + 30)
    left, right = label_w, 56
    plot_w = width - left - right
    peak = maximum or max((x or 0 for *_, v in series for x in v), default=0)
    if target is not None:
        peak = max(peak, target)
    ticks = nice_ticks(peak, integer=integer) if maximum is None else [
        maximum * i / 4 for i in range(5)]
    scale = plot_w / ticks[-1] if ticks[-1] else 0
    bottom = top + row_h * max(len(labels), 1)
    for tick in ticks:
        x = left + tick * scale
        svg.line(x, top, x, bottom)
        svg.text(x, bottom + 16, fmt(tick, unit), anchor="middle", fill=MUTED)
    bars_h = 16 * len(series)
    for i, label in enumerate(labels):
        y0 = top + i * row_h + 5
        svg.text(left - 8, y0 + (row_h - 10) / 2 + 4, lines[i], anchor="end")
        for j, (name, series_label, colour, values) in enumerate(series):
            value = values[i]
            y = y0 + (row_h - 10 - bars_h) / 2 + j * 16
            if value is None:
                svg.text(left + 4, y + 12, "—", fill=MUTED)
                continue
            w = value * scale
            tip = f"{label} · {series_label}: {fmt(value, unit)}" if legend else \
                f"{label}: {fmt(value, unit)}"
            svg.rect(left, y + 1, w, 13, colour, tip, data_series=name)
            svg.text(left + w + 4, y + 12, fmt(value, unit), fill=TEXT)
    if target is not None:
        x = left + target * scale
        svg.line(x, top - 4, x, bottom, stroke=TARGET, width=2, dash="4 3")
    svg.line(left, top, left, bottom, stroke=MUTED)
    return svg.render()


def share_chart(chart_id, title, desc, share, target, label, target_label):
    """One 0–100 % bar with the target marked (e.g. the share of satisfied answers)."""
    width, height = 560, 74
    left, right, top = 8, 8, 22
    plot_w = width - left - right
    svg = _Svg(chart_id, title, desc, width, height)
    svg.rect(left, top, plot_w, 20, "#eef1ef", stroke=GRID)
    if share is not None:
        colour = PALETTE[2] if target is None or share >= target else PALETTE[1]
        svg.rect(left, top, plot_w * share, 20, colour, f"{label}: {fmt(percent(share), '%')}",
                 data_series="share")
        svg.text(left, top - 6, f"{label}: {fmt(percent(share), '%')}", weight="600")
    else:
        svg.text(left, top - 6, f"{label}: —", fill=MUTED)
    if target is not None:
        x = left + plot_w * target
        svg.line(x, top - 4, x, top + 24, stroke=TARGET, width=2)
        svg.text(x, top + 38, f"{target_label}: {fmt(percent(target), '%')}", anchor="middle",
                 fill=TARGET)
    for tick in (0, 0.5, 1):
        svg.text(left + plot_w * tick, top + 38,
                 fmt(tick * 100, "%") if tick != 0.5 or target is None else "",
                 anchor="start" if tick == 0 else "end" if tick == 1 else "middle",
                 fill=MUTED)
    return svg.render()


# --------------------------------------------------------------------------- dashboard


def bucket_label(first, step):
    if step == "month":
        return format_date(first, "MMM y")
    return format_date(first, "d MMM")


def percent(value):
    return None if value is None else round(value * 100, 1)


def build_charts(report, step):
    """The dashboard's SVG charts from a report's figures."""
    contacts, cases = report["contacts"], report["cases"]
    first, overdue = report["first_response"], report["overdue"]
    satisfaction, queues = report["satisfaction"], report["queues"]
    labels = [bucket_label(date.fromisoformat(s["from"]), step) for s in contacts["series"]]
    out = {}
    out["contacts"] = column_chart(
        "chart-contacts", _("Contacts by channel"),
        ngettext("%(n)s contact in the period: %(detail)s.",
                 "%(n)s contacts in the period: %(detail)s.", contacts["total"],
                 n=fmt(contacts["total"]), detail=", ".join(
                     f"{CHANNEL_LABELS[c]} {fmt(contacts['by_channel'][c])}"
                     for c in contacts["by_channel"])),
        labels,
        [(c, str(CHANNEL_LABELS[c]), [s["counts"][c] for s in contacts["series"]])
         for c in contacts["by_channel"]],
    )
    out["cases"] = column_chart(
        "chart-cases", _("Cases opened and closed"),
        _("Cases opened in the period: %(opened)s; closed: %(closed)s.",
          opened=fmt(cases["opened"]), closed=fmt(cases["closed"])),
        labels,
        [("opened", _("Opened"), [s["counts"]["opened"] for s in cases["series"]]),
         ("closed", _("Closed"), [s["counts"]["closed"] for s in cases["series"]])],
        stacked=False,
    )
    out["levels"] = bar_chart(
        "chart-levels", _("Cases opened by level"),
        ", ".join(f"{LEVEL_LABELS[k]} {fmt(v)}" for k, v in cases["by_level"].items()),
        [str(LEVEL_LABELS[k]) for k in LEVELS],
        [("opened", _("Cases"), [cases["by_level"][k] for k in LEVELS])],
    )
    out["routes"] = bar_chart(
        "chart-routes", _("Cases opened by route"),
        ", ".join(f"{ROUTE_LABELS[k]} {fmt(v)}" for k, v in cases["by_route"].items()),
        [str(ROUTE_LABELS[k]) for k in ROUTES],
        [("opened", _("Cases"), [cases["by_route"][k] for k in ROUTES])],
    )
    levels = first["levels"]
    out["response"] = bar_chart(
        "chart-response", _("Time to first response (hours)"),
        _("Median and 90th percentile of the hours from opening to first response, per "
          "level; overall median %(median)s.", median=fmt(first["all"]["median_hours"], "h")),
        [str(LEVEL_LABELS[k]) for k in LEVELS],
        [("median", _("Median"), [levels[k]["median_hours"] for k in LEVELS]),
         ("p90", _("90th percentile"), [levels[k]["p90_hours"] for k in LEVELS])],
        unit="h", integer=False,
    )
    out["on_time"] = bar_chart(
        "chart-on-time", _("First responses on time (%)"),
        _("Share of first responses given before the deadline, per level; overall "
          "%(share)s.", share=fmt(percent(first["all"]["share_on_time"]), "%")),
        [str(LEVEL_LABELS[k]) for k in LEVELS],
        [("on_time", _("On time"), [percent(levels[k]["share_on_time"]) for k in LEVELS])],
        unit="%", maximum=100,
    )
    out["overdue"] = bar_chart(
        "chart-overdue", _("Tasks due in the period"),
        _("Tasks due: %(due)s; done on time: %(on_time)s; late: %(late)s.",
          due=fmt(overdue["tasks_due"]), on_time=fmt(overdue["tasks_on_time"]),
          late=fmt(overdue["tasks_late"])),
        [str(TASK_KIND_LABELS[k]) for k in TASK_KINDS],
        [("on_time", _("On time"), [overdue["tasks_by_kind"][k]["on_time"] for k in TASK_KINDS]),
         ("late", _("Late"), [overdue["tasks_by_kind"][k]["late"] for k in TASK_KINDS])],
    )
    out["queues"] = bar_chart(
        "chart-queues", _("Waiting in the queues now"),
        _("Unclaimed open cases by how long they have waited: %(detail)s.", detail="; ".join(
            f"{QUEUE_LABELS[q]} {fmt(queues[q]['waiting'])}" for q in QUEUES)),
        [str(AGE_BAND_LABELS[b]) for b, _x, _y in AGE_BANDS],
        [(q, str(QUEUE_LABELS[q]), [queues[q]["bands"][b] for b, _x, _y in AGE_BANDS])
         for q in QUEUES],
    )
    share = satisfaction["share_satisfied"]
    out["satisfaction"] = share_chart(
        "chart-satisfaction", _("Satisfied answers (4 or 5 out of 5)"),
        ngettext("%(share)s of %(n)s answer was 4 or 5; the target is %(target)s.",
                 "%(share)s of %(n)s answers were 4 or 5; the target is %(target)s.",
                 satisfaction["answered"], n=fmt(satisfaction["answered"]),
                 share=fmt(percent(share), "%"),
                 target=fmt(percent(satisfaction["target"]), "%")),
        share, satisfaction["target"], _("Satisfied"), _("Target"),
    )
    out["scores"] = bar_chart(
        "chart-scores", _("Survey answers by score"),
        ", ".join(f"{k}: {fmt(v)}" for k, v in satisfaction["scores"].items()),
        [str(k) for k in SCORES],
        [("answers", _("Answers"), [satisfaction["scores"][str(k)] for k in SCORES])],
    )
    return out
