"""The Grafana dashboards as code (grafana-foundation-sdk, for Grafana 11.6).

    python ops/grafana/build_dashboards.py          # writes ops/grafana/dashboards/*.json

Three dashboards, each answering its audience's questions:
- `hotline-city` (managers): how many calls, where they went, the three rates per unit,
  breaches and open overdue tickets across the city;
- `hotline-unit` (a unit's head, the centre watching one unit): its queue and how long the
  oldest ticket waits, each clock's distribution, its returns, extensions and reopenings,
  its warnings and breaches, its rates;
- `hotline-stream` (operators): consumer lag and progress, throughput, latency per stage,
  dead letters, the outbox, the SLA timer and the city collector.
The suite checks that the committed JSON is what this file builds, and, against a real
Prometheus scraping a worker, that every panel's query returns data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import BigValueGraphMode
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

GRAFANA_VERSION = "11.6"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="hotline-prometheus")
OUT = Path(__file__).resolve().parent / "dashboards"
UNIT = 'department=~"$unit"'
HOTLINE = 'hotline=~"$hotline"'


def query(expr: str, legend: str = "", ref: str = "A") -> prometheus.Dataquery:
    return (prometheus.Dataquery().expr(expr).legend_format(legend or "__auto")
            .ref_id(ref).datasource(DATASOURCE))


def series(title: str, description: str, targets: Sequence[tuple[str, str]], unit: str = "",
           width: int = 12) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).description(description).datasource(DATASOURCE)
             .height(8).span(width))
    if unit:
        panel = panel.unit(unit)
    for index, (expr, legend) in enumerate(targets):
        panel = panel.with_target(query(expr, legend, chr(ord("A") + index)))
    return panel


def number(title: str, description: str, expr: str, unit: str = "", width: int = 6
           ) -> stat.Panel:
    panel = (stat.Panel().title(title).description(description).datasource(DATASOURCE)
             .height(5).span(width).graph_mode(BigValueGraphMode.AREA)
             .with_target(query(expr)))
    return panel.unit(unit) if unit else panel


def ranking(title: str, description: str, targets: Sequence[tuple[str, str]], width: int = 24
            ) -> table.Panel:
    panel = (table.Panel().title(title).description(description).datasource(DATASOURCE)
             .height(10).span(width).unit("percentunit"))
    for index, (expr, legend) in enumerate(targets):
        panel = panel.with_target(query(expr, legend, chr(ord("A") + index))
                                  .instant().format(PromQueryFormat.TABLE))
    return panel


def variable(name: str, label: str, values: str) -> dashboard.QueryVariable:
    return (dashboard.QueryVariable(name).label(label).datasource(DATASOURCE)
            .query(f"label_values({values})").multi(True).include_all(True)
            .all_value(".*").refresh(VariableRefresh.ON_TIME_RANGE_CHANGED))


def base(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (dashboard.Dashboard(title).uid(uid).description(description)
            .tags(["hotline-router", "12345"]).refresh("30s").time("now-6h", "now")
            .timezone("browser"))


def city() -> dashboard.Dashboard:
    return (base("hotline-city", "12345 hotline — city overview",
                 "Calls, tickets, the three rates and the SLA across the city.")
            .with_variable(variable("hotline", "Hotline",
                                    "hotline_calls_received_total, hotline"))
            .with_row(dashboard.Row("Calls: how many, from which hotline, where they went"))
            .with_panel(series(
                "Calls per minute by hotline", "Valid call records received, per hotline.",
                [(f"sum by (hotline) (rate(hotline_calls_received_total{{{HOTLINE}}}[5m])) "
                  "* 60", "{{hotline}}")], "short"))
            .with_panel(series(
                "Where new tickets went", "Dispatched to units, sent to the dispatchers"
                " (triage) or transferred to an emergency line, per minute.",
                [("sum(rate(hotline_tickets_dispatched_total[5m])) * 60", "dispatched"),
                 ("sum(rate(hotline_triage_total[5m])) * 60", "triage"),
                 ("sum(rate(hotline_emergency_transfers_total[5m])) * 60", "transferred")],
                "short"))
            .with_row(dashboard.Row("The three rates (三率) per unit, last 30 days"))
            .with_panel(ranking(
                "三率 per unit", "响应率 signed for and contacted in time; 解决率 solved by the"
                " citizen's word; 满意率 satisfied (基本满意 weighted). Open tickets past their"
                " target count against the unit.",
                [('max by (department) (hotline_unit_rate_ratio{rate="response"})', "响应率"),
                 ('max by (department) (hotline_unit_rate_ratio{rate="resolution"})', "解决率"),
                 ('max by (department) (hotline_unit_rate_ratio{rate="satisfaction"})', "满意率")]))
            .with_row(dashboard.Row("The SLA: breaches and what sits overdue"))
            .with_panel(number(
                "Resolution breach ratio, 30 days", "Late resolutions plus unresolved"
                " tickets past their target, over resolutions plus those.",
                "hotline:resolution_breach_ratio:city30d", "percentunit"))
            .with_panel(number(
                "Responses late, last hour", "Share of units' responses (sign for and first"
                " contact) judged late: the response SLO allows 5 %.",
                "hotline:response_late_ratio:rate1h", "percentunit"))
            .with_panel(number(
                "Open tickets past their target", "Unresolved tickets already overdue.",
                "sum(hotline_open_overdue_tickets)", "short"))
            .with_panel(number(
                "Open tickets", "Tickets not yet resolved, city-wide.",
                "sum(hotline_open_tickets)", "short"))
            .with_panel(series(
                "Breaches per hour by clock", "SLA clocks that passed their due time.",
                [("sum by (clock) (increase(hotline_sla_breaches_total[1h]))", "{{clock}}")],
                "short"))
            .with_panel(series(
                "Hotspots (未诉先办)", "Surges raised now per category: reports of one"
                " category in one area far above their baseline (GET /api/v1/hotspots).",
                [("sum by (category) (hotline_hotspots_active)", "{{category}}")], "short"))
            .with_panel(series(
                "Open overdue tickets by unit", "Unresolved tickets past their resolution"
                " target, per unit holding them.",
                [("max by (department) (hotline_open_overdue_tickets)", "{{department}}")],
                "short")))


def unit() -> dashboard.Dashboard:
    return (base("hotline-unit", "12345 hotline — one unit",
                 "A unit's queue, clocks, returns, extensions and rates.")
            .with_variable(variable("unit", "Unit", "hotline_open_tickets, department"))
            .with_row(dashboard.Row("The queue: how much waits, and for how long"))
            .with_panel(series(
                "Waiting and pending", "Entries nobody has claimed, and all not yet"
                " acknowledged.",
                [(f"max by (department) (hotline_queue_waiting{{{UNIT}}})", "waiting"
                  " {{department}}"),
                 (f"max by (department) (hotline_queue_pending{{{UNIT}}})", "pending"
                  " {{department}}")], "short"))
            .with_panel(series(
                "Oldest waiting ticket", "How long the oldest unclaimed entry has waited.",
                [(f"max by (department) (hotline_queue_oldest_waiting_seconds{{{UNIT}}})",
                  "{{department}}")], "s"))
            .with_row(dashboard.Row("The clocks: how long each step takes, in business time"))
            .with_panel(series(
                "Clocks, median business time", "p50 of each clock's business time when it"
                " stopped, over the last 6 hours.",
                [("histogram_quantile(0.5, sum by (le, clock) (increase("
                  f"hotline_sla_clock_business_seconds_bucket{{{UNIT}}}[6h])))", "{{clock}}")],
                "s"))
            .with_panel(series(
                "Clocks, 90th percentile", "p90 of each clock's business time.",
                [("histogram_quantile(0.9, sum by (le, clock) (increase("
                  f"hotline_sla_clock_business_seconds_bucket{{{UNIT}}}[6h])))", "{{clock}}")],
                "s"))
            .with_panel(series(
                "Warnings and breaches", "Levels crossed per hour.",
                [(f"sum by (clock) (increase(hotline_sla_warnings_total{{{UNIT}}}[1h]))",
                  "warning {{clock}}"),
                 (f"sum by (clock) (increase(hotline_sla_breaches_total{{{UNIT}}}[1h]))",
                  "breach {{clock}}")], "short"))
            .with_panel(series(
                "Returns, extensions, reopenings", "退单, 延期 asked for and tickets reopened"
                " after a callback, per hour.",
                [(f'sum by (event) (increase(hotline_ticket_events_total{{{UNIT},'
                  'event=~"returned|extension_requested|reopened"}[1h]))', "{{event}}")],
                "short"))
            .with_row(dashboard.Row("Its rates and open tickets"))
            .with_panel(series(
                "The three rates", "The unit's 响应率, 解决率 and 满意率 over the last 30 days.",
                [(f"max by (department, rate) (hotline_unit_rate_ratio{{{UNIT}}})",
                  "{{rate}} {{department}}")], "percentunit"))
            .with_panel(series(
                "Open and overdue", "Unresolved tickets, and those past their target.",
                [(f"max by (department) (hotline_open_tickets{{{UNIT}}})",
                  "open {{department}}"),
                 (f"max by (department) (hotline_open_overdue_tickets{{{UNIT}}})",
                  "overdue {{department}}")], "short")))


def stream() -> dashboard.Dashboard:
    return (base("hotline-stream", "12345 hotline — stream health",
                 "Is the pipeline keeping up, and is anything failing?")
            .with_row(dashboard.Row("Keeping up: lag, progress and throughput"))
            .with_panel(series(
                "Consumer lag by partition", "Intake records the workers have not committed.",
                [("max by (topic, partition) (hotline_consumer_lag_records)",
                  "{{topic}} {{partition}}")], "short"))
            .with_panel(series(
                "Committed progress", "Records committed per second, per partition: flat"
                " while the lag grows is a stuck consumer.",
                [("max by (topic, partition) (deriv(hotline_consumer_committed_offset[5m]))",
                  "{{topic}} {{partition}}")], "short"))
            .with_panel(series(
                "Throughput", "Calls received and tickets created per second.",
                [("sum(rate(hotline_calls_received_total[5m]))", "calls"),
                 ('sum(rate(hotline_ticket_events_total{event="created"}[5m]))', "tickets")],
                "short"))
            .with_panel(series(
                "Latency per stage, p95", "Time per batch in each stage.",
                [("histogram_quantile(0.95, sum by (le, stage) ("
                  "rate(hotline_processing_latency_seconds_bucket[5m])))", "{{stage}}")], "s"))
            .with_row(dashboard.Row("Failing: dead letters, retries, the outbox, the timer"))
            .with_panel(series(
                "Dead letters by reason", "Records sent to the dead-letter topic per hour.",
                [("sum by (reason) (increase(hotline_dead_letters_total[1h]))", "{{reason}}")],
                "short"))
            .with_panel(series(
                "Outbox", "Committed changes not yet delivered, and the oldest one's age.",
                [("max(hotline_outbox_backlog)", "backlog"),
                 ("max(hotline_outbox_oldest_age_seconds)", "oldest (s)")], "short"))
            .with_panel(series(
                "SLA timer", "From a level's crossing to its event committed (p99), and"
                " looks that failed.",
                [("histogram_quantile(0.99, sum by (le) ("
                  "rate(hotline_sla_alarm_lag_seconds_bucket[15m])))", "lag p99 (s)"),
                 ("sum(increase(hotline_sla_timer_failures_total[15m]))", "failures")],
                "short"))
            .with_panel(series(
                "City collector", "Which worker computes the city-wide gauges (exactly one).",
                [("max by (instance) (hotline_city_collector)", "{{instance}}")], "short")))


DASHBOARDS = {"city": city, "unit": unit, "stream": stream}


def render() -> dict[str, str]:
    """File name → JSON text, as committed."""
    return {f"hotline-{name}.json": json.dumps(build().build(), cls=JSONEncoder, indent=2,
                                               ensure_ascii=False, sort_keys=True) + "\n"
            for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
