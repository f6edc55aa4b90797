"""Hand-written SVG charts for the dashboards (no JS library, no CDN: they render offline and print). Every text
that comes from data is escaped; each chart carries a <title> and the figures are also in the tables beside it."""
from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import mark_safe

STYLE = ("<style>.grid{stroke:#e3e6ea}.tick{font:10px sans-serif;fill:#667085}.label{font:12px sans-serif;"
         "fill:#1d2430}.value{font:11px sans-serif;fill:#1d2430}.bar{fill:#2f5bd3}.bar.low{fill:#d92d20}"
         ".err{stroke:#101828;stroke-width:1.5}.threshold{stroke:#b54708;stroke-dasharray:4 3;stroke-width:1.5}"
         ".hall{fill:#b42318}.irr{fill:#fdb022}</style>")
PALETTE = ["#2f5bd3", "#e8833a", "#2a9d8f", "#b5179e", "#6a994e", "#d62828", "#577590", "#bc6c25"]
SCORE_COLOURS = ["#b42318", "#f04438", "#fdb022", "#fec84b", "#73c991", "#12b76a"]


def _f(v: float) -> str:
    return f"{v:.1f}"


def mean_bars(rows: list[dict], *, threshold: float = 3.0, title: str = "Mean rating per category") -> str:
    """Horizontal bars of the mean rating (0-5) with ± one standard deviation and the threshold line."""
    label_w, width, bar_h, gap = 110, 440, 18, 10
    height = 30 + len(rows) * (bar_h + gap)
    scale = (width - label_w - 20) / 5
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{STYLE}']
    for s in range(6):
        x = label_w + s * scale
        parts.append(f'<line x1="{_f(x)}" y1="18" x2="{_f(x)}" y2="{height - 4}" class="grid"/>'
                     f'<text x="{_f(x)}" y="12" class="tick" text-anchor="middle">{s}</text>')
    tx = label_w + threshold * scale
    parts.append(f'<line x1="{_f(tx)}" y1="18" x2="{_f(tx)}" y2="{height - 4}" class="threshold">'
                 f'<title>threshold {threshold:g}</title></line>')
    for i, r in enumerate(rows):
        y = 24 + i * (bar_h + gap)
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end" class="label">'
                     f'{escape(r["emotion"])}</text>')
        if r.get("mean") is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + bar_h - 5}" class="tick">no ratings</text>')
            continue
        w = r["mean"] * scale
        cls = "bar low" if r["mean"] < threshold else "bar"
        parts.append(f'<rect x="{label_w}" y="{y}" width="{_f(w)}" height="{bar_h}" class="{cls}">'
                     f'<title>{escape(r["emotion"])}: mean {r["mean"]:.2f}, n {r["n"]}</title></rect>')
        if r.get("sd") is not None:
            lo = max(0.0, r["mean"] - r["sd"]) * scale + label_w
            hi = min(5.0, r["mean"] + r["sd"]) * scale + label_w
            mid = y + bar_h / 2
            parts.append(f'<line x1="{_f(lo)}" y1="{_f(mid)}" x2="{_f(hi)}" y2="{_f(mid)}" class="err"/>')
        parts.append(f'<text x="{_f(label_w + w + 4)}" y="{y + bar_h - 5}" class="value">{r["mean"]:.2f}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every data text above is escaped


def score_stacks(rows: list[dict], *, title: str = "Ratings by score") -> str:
    """One stacked bar per category: how many ratings of each score 0-5."""
    label_w, width, bar_h, gap = 110, 440, 16, 8
    height = 34 + len(rows) * (bar_h + gap)
    usable = width - label_w - 20
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{STYLE}']
    for s, colour in enumerate(SCORE_COLOURS):
        parts.append(f'<rect x="{label_w + s * 44}" y="2" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{label_w + s * 44 + 14}" y="11" class="tick">{s}</text>')
    for i, r in enumerate(rows):
        y = 22 + i * (bar_h + gap)
        total = sum(r["histogram"]) or 1
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end" class="label">'
                     f'{escape(r["emotion"])}</text>')
        x = float(label_w)
        for s, n in enumerate(r["histogram"]):
            if not n:
                continue
            w = usable * n / total
            parts.append(f'<rect x="{_f(x)}" y="{y}" width="{_f(w)}" height="{bar_h}" fill="{SCORE_COLOURS[s]}">'
                         f'<title>{escape(r["emotion"])}: {n} rated {s}</title></rect>')
            x += w
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308


def share_bars(rows: list[dict], *, title: str = "Model triggers removed") -> str:
    """Per model and prompt version: share removed as hallucination (dark) and as irrelevant (light)."""
    label_w, width, bar_h, gap = 200, 480, 16, 8
    height = 26 + len(rows) * (bar_h + gap)
    usable = width - label_w - 50
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{STYLE}'
             f'<rect x="{label_w}" y="2" width="10" height="10" class="hall"/><text x="{label_w + 14}" y="11" '
             f'class="tick">hallucination</text><rect x="{label_w + 110}" y="2" width="10" height="10" '
             f'class="irr"/><text x="{label_w + 124}" y="11" class="tick">irrelevant</text>']
    for i, r in enumerate(rows):
        y = 18 + i * (bar_h + gap)
        name = r["model"] + (f" · v{r['prompt_version']}" if r.get("prompt_version") else "")
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end" class="label">'
                     f'{escape(name[:34])}</text>')
        h, ir = r.get("share_hallucination") or 0, r.get("share_irrelevant") or 0
        parts.append(f'<rect x="{label_w}" y="{y}" width="{_f(usable * h)}" height="{bar_h}" class="hall">'
                     f'<title>{escape(name)}: {h:.1%} hallucination</title></rect>'
                     f'<rect x="{_f(label_w + usable * h)}" y="{y}" width="{_f(usable * ir)}" height="{bar_h}" '
                     f'class="irr"><title>{escape(name)}: {ir:.1%} irrelevant</title></rect>'
                     f'<text x="{_f(label_w + usable * (h + ir) + 4)}" y="{y + bar_h - 4}" class="value">'
                     f'{h + ir:.0%}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308


def lines(days: list[str], series: dict[str, dict[str, int]], *, title: str = "Passes done per day") -> str:
    """One polyline per annotator over the days."""
    width, height, left, bottom, top = 480, 200, 34, 28, 26
    peak = max([1, *(v for s in series.values() for v in s.values())])
    n = max(1, len(days) - 1)
    plot_w, plot_h = width - left - 10, height - bottom - top

    def xy(i, v):
        return left + plot_w * i / n, top + plot_h * (1 - v / peak)

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{STYLE}']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{_f(y)}" x2="{width - 10}" y2="{_f(y)}" class="grid"/>'
                     f'<text x="{left - 4}" y="{_f(y + 4)}" text-anchor="end" class="tick">'
                     f'{round(peak * frac)}</text>')
    if days:
        parts.append(f'<text x="{left}" y="{height - 8}" class="tick">{escape(days[0])}</text>'
                     f'<text x="{width - 10}" y="{height - 8}" text-anchor="end" class="tick">'
                     f'{escape(days[-1])}</text>')
    for k, (who, values) in enumerate(sorted(series.items())):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{_f(x)},{_f(y)}" for x, y in (xy(i, values.get(d, 0)) for i, d in enumerate(days)))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2">'
                     f'<title>{escape(who)}</title></polyline>')
        if len(days) == 1:
            x, y = xy(0, values.get(days[0], 0))
            parts.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="3" fill="{colour}"/>')
        parts.append(f'<rect x="{left + 4 + 90 * (k % 5)}" y="{4 + 12 * (k // 5)}" width="8" height="8" '
                     f'fill="{colour}"/><text x="{left + 16 + 90 * (k % 5)}" y="{12 + 12 * (k // 5)}" '
                     f'class="tick">{escape(who[:12])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308
