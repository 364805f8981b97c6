"""The monthly three-rates ranking (三率排名通报) a centre publishes.

    hotline-router report --period 2026-11 --out DIR

Writes `DIR/index.html` and one PNG chart per section: units ranked by 响应率, 解决率 and 满意率
over the tickets created in the month (China Standard Time), each with its counts, its open
tickets past their target and the change against the month before, then the categories with
the lowest rates. The figures are the API's (`router.sla_reports`), so the report and
`GET /api/v1/rates` never disagree. Charts are drawn by matplotlib and label units by code,
so they need no CJK font (categories are numbered where none is installed); the page names
them in full.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from router.domain.calendars import CHINA_STANDARD_TIME
from router.sla_reports import Grouping, GroupRates, RateReports

_RATES = (("response", "响应率", "signed for and first contact within target"),
          ("resolution", "解决率", "solved by the citizen's word at the callback"),
          ("satisfaction", "满意率", "满意, and 基本满意 weighted"))
MIN_TICKETS_FOR_WORST = 3  # a category with fewer tickets says nothing yet


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # 2026-11
    since: datetime
    until: datetime

    @classmethod
    def month(cls, text: str) -> Period:
        if not re.fullmatch(r"\d{4}-\d{2}", text):
            raise ValueError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-11")
        year, month = int(text[:4]), int(text[5:])
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} has no month {month}")
        since = datetime(year, month, 1, tzinfo=CHINA_STANDARD_TIME)
        until = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=CHINA_STANDARD_TIME)
        return cls(text, since, until)

    def previous(self) -> Period:
        year, month = self.since.year, self.since.month
        earlier = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
        return Period.month(earlier)


@dataclass(frozen=True, slots=True)
class UnitRow:
    unit: str
    name: str
    now: GroupRates
    before: GroupRates | None

    def rate(self, name: str) -> float | None:
        return getattr(self.now.rates, name)  # type: ignore[no-any-return]

    def change(self, name: str) -> float | None:
        now = self.rate(name)
        was = getattr(self.before.rates, name) if self.before else None
        return None if now is None or was is None else now - was


def build_report(reports: RateReports, period: Period, unit_names: Mapping[str, str],
                 out: Path) -> Path:
    """Write the report for `period` into `out`; returns the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    before = {g.key: g for g in reports.rates(period.previous().since,
                                               period.previous().until, Grouping.UNIT)}
    rows = [UnitRow(g.key or "", unit_names.get(g.key or "", g.key or ""), g,
                    before.get(g.key))
            for g in reports.rates(period.since, period.until, Grouping.UNIT)]
    categories = reports.rates(period.since, period.until, Grouping.CATEGORY)
    [overall] = reports.rates(period.since, period.until, Grouping.OVERALL)
    sections = []
    for name, title, meaning in _RATES:
        ranked = sorted((r for r in rows if r.rate(name) is not None),
                        key=lambda r: (-(r.rate(name) or 0.0), r.unit))
        unranked = [r for r in rows if r.rate(name) is None]
        chart = out / f"{name}.png"
        _bar_chart(chart, f"{title} ({name}) {period.label}",
                   [(r.unit, r.rate(name) or 0.0) for r in ranked])
        sections.append(_section(name, title, meaning, ranked, unranked, chart.name))
    worst = sorted((g for g in categories if g.counts.tickets >= MIN_TICKETS_FOR_WORST
                    and g.rates.resolution is not None),
                   key=lambda g: (g.rates.resolution or 0.0, g.key or ""))[:5]
    _bar_chart(out / "categories.png", f"lowest 解决率 by category {period.label}",
               [(g.key or "", g.rates.resolution or 0.0) for g in worst])
    page = out / "index.html"
    page.write_text(_page(period, overall, sections, worst, reports), encoding="utf-8")
    return page


def _bar_chart(path: Path, title: str, bars: Sequence[tuple[str, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    fonts = sorted({f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name},
                   key=lambda name: ("Sans" not in name, name))
    cjk = fonts[0] if fonts else None
    if cjk is not None:
        plt.rcParams["font.family"] = [cjk, "DejaVu Sans"]
    labels = [label if cjk else _latin(label, i) for i, (label, _) in enumerate(bars)]
    figure, axes = plt.subplots(figsize=(8, max(2.0, 0.35 * len(bars) + 1)))
    axes.barh(labels[::-1], [value * 100 for _, value in bars][::-1], color="#3b6ea5")
    axes.set_xlim(0, 100)
    axes.set_xlabel("%")
    axes.set_title(title if cjk else _latin(title, 0))
    for index, (_, value) in enumerate(bars[::-1]):
        axes.text(min(value * 100 + 1, 92), index, f"{value * 100:.1f}", va="center",
                  fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _latin(text: str, index: int) -> str:
    """Chart text without CJK characters, where no CJK font is installed."""
    kept = re.sub(r"[^\x00-\x7f]+", "", text).strip(" ()")
    return kept or f"#{index + 1}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _points(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f} pt"


def _section(name: str, title: str, meaning: str, ranked: Sequence[UnitRow],
             unranked: Sequence[UnitRow], chart: str) -> str:
    lines = [f'<section id="{name}"><h2>{title} <small>{html.escape(meaning)}</small></h2>',
             f'<img src="{chart}" alt="{title} ranking">',
             "<table><thead><tr><th>#</th><th>unit</th><th>响应率</th><th>解决率</th>"
             "<th>满意率</th><th>tickets</th><th>open overdue</th>"
             "<th>change</th></tr></thead><tbody>"]
    for place, row in enumerate([*ranked, *unranked], start=1):
        counts = row.now.counts
        lines.append(
            f'<tr class="unit" data-unit="{html.escape(row.unit)}">'
            f"<td>{place if row in ranked else ''}</td>"
            f"<td>{html.escape(row.name)} <code>{html.escape(row.unit)}</code></td>"
            f"<td>{_percent(row.rate('response'))}</td>"
            f"<td>{_percent(row.rate('resolution'))}</td>"
            f"<td>{_percent(row.rate('satisfaction'))}</td>"
            f"<td>{counts.tickets}</td><td>{counts.open_overdue}</td>"
            f"<td>{_points(row.change(name))}</td></tr>")
    lines.append("</tbody></table></section>")
    return "\n".join(lines)


def _page(period: Period, overall: GroupRates, sections: Sequence[str],
          worst: Sequence[GroupRates], reports: RateReports) -> str:
    definitions = reports.definitions
    worst_rows = "\n".join(
        f"<tr><td>{html.escape(g.key or '')}</td><td>{_percent(g.rates.response)}</td>"
        f"<td>{_percent(g.rates.resolution)}</td><td>{_percent(g.rates.satisfaction)}</td>"
        f"<td>{g.counts.tickets}</td><td>{g.counts.open_overdue}</td></tr>" for g in worst)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>三率排名通报 {period.label}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", sans-serif; margin: 2em;
       color: #222; max-width: 70em; }}
table {{ border-collapse: collapse; margin: 1em 0 2em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.8em; text-align: right; }}
td:nth-child(2), th:nth-child(2), #categories td:first-child,
#categories th:first-child {{ text-align: left; }}
small {{ color: #666; font-weight: normal; font-size: 0.6em; }}
code {{ color: #666; }}
</style></head><body>
<h1>三率排名通报 <small>{period.label}: tickets created {period.since:%Y-%m-%d} to
{period.until:%Y-%m-%d} (China Standard Time)</small></h1>
<p id="overall">City: 响应率 {_percent(overall.rates.response)}, 解决率
{_percent(overall.rates.resolution)}, 满意率 {_percent(overall.rates.satisfaction)} over
{overall.counts.tickets} tickets; {overall.counts.open_overdue} still open past their
target.</p>
<p>基本满意 counts {definitions.basically_satisfied_weight:g} of 满意.
{"Open tickets past their target count against the unit." if definitions.count_open_overdue
 else "Open tickets are not counted."} "Change" is against {period.previous().label}, in
percentage points; a rate with nothing to count is shown as —.</p>
{chr(10).join(sections)}
<section id="categories"><h2>Categories with the lowest 解决率 <small>at least
{MIN_TICKETS_FOR_WORST} tickets</small></h2>
<img src="categories.png" alt="lowest resolution rate by category">
<table><thead><tr><th>category</th><th>响应率</th><th>解决率</th><th>满意率</th><th>tickets</th>
<th>open overdue</th></tr></thead><tbody>
{worst_rows}
</tbody></table></section>
</body></html>
"""
