"""`hotline-router`: the worker, the demo, file replay, health checks and admin commands."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from router.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotline-router", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("worker", help="consume calls, create and dispatch tickets, serve the API")

    demo = commands.add_parser("demo", help="start the embedded default, replay sample calls")
    demo.add_argument("--once", action="store_true",
                      help="exit 0 once every sample call is handled (for scripts)")
    demo.add_argument("--calls", type=Path, default=None, help="JSONL/CSV file to replay")

    replay = commands.add_parser("replay", help="publish a JSONL/CSV file of call records")
    replay.add_argument("file", type=Path)
    replay.add_argument("--rate", type=float, default=None, help="records per second")

    health = commands.add_parser("health", help="check the database, Redis and the broker")
    health.add_argument("--timeout", type=float, default=10.0)

    commands.add_parser("migrate", help="bring the database schema to the newest version")

    token = commands.add_parser("unit-token", help="print an API token of a unit")
    token.add_argument("unit")
    token.add_argument("--person", default=None,
                       help="the staff member it is for (recorded as the actor of their actions)")
    token.add_argument("--role", choices=["staff", "agent", "manager"], default="staff",
                       help="agent: the dispatch centre's call-taker (takes calls, reads"
                            " tickets, decides nothing); manager: reads every unit's tickets,"
                            " queues and rates, changes nothing")
    token.add_argument("--ttl", type=float, default=None,
                       help="seconds it stays valid (default HOTLINE_API_TOKEN_TTL_SECONDS)")

    report = commands.add_parser(
        "report", help="the month's three-rates ranking (三率排名通报) as HTML with charts")
    report.add_argument("--period", required=True, help="the month, YYYY-MM (China Standard"
                                                        " Time)")
    report.add_argument("--out", type=Path, required=True, help="folder for index.html and"
                                                                " the charts")

    export = commands.add_parser("export-corrections",
                                 help="agents' category corrections as a training CSV")
    export.add_argument("--out", type=Path, required=True)

    sla = commands.add_parser("sla", help="the SLA clocks' maths: deadlines and business time")
    sla_commands = sla.add_subparsers(dest="sla_command", required=True)
    deadline = sla_commands.add_parser(
        "deadline", help="when a target runs out on a calendar (JSON with due_at)")
    deadline.add_argument("--from", dest="start", required=True,
                          help="ISO 8601 with a UTC offset, e.g. 2026-12-02T09:00+08:00")
    deadline.add_argument("--target", required=True, help="Nm, Nh or Nd, e.g. 7d")
    deadline.add_argument("--calendar", default="workdays",
                          help="24x7, workdays or a calendar of sla.toml (default workdays)")
    deadline.set_defaults(command="sla-deadline")
    elapsed = sla_commands.add_parser(
        "elapsed", help="a calendar's time between two moments (JSON with seconds)")
    elapsed.add_argument("--from", dest="start", required=True)
    elapsed.add_argument("--to", dest="end", required=True)
    elapsed.add_argument("--calendar", default="workdays")
    elapsed.set_defaults(command="sla-elapsed")

    from classifiers.cli import add_classifier_commands

    classifier_commands = add_classifier_commands(commands)
    calls = classifier_commands.add_parser(
        "eval-calls", help="what intake does with labelled call summaries (JSON figures)")
    calls.add_argument("--data", type=Path, required=True,
                       help="JSONL rows as in tests/data/spoken_calls/")
    calls.add_argument("--model", type=Path, help="artifact (default: HOTLINE_CLASSIFIER_MODEL"
                       " or the shipped one)")
    calls.set_defaults(command="eval-calls")
    incidents = classifier_commands.add_parser(
        "eval-incidents", help="the incident rule against labelled near-duplicate groups (JSON)")
    incidents.add_argument("--data", type=Path, required=True,
                           help="CSV with a text column and a group column")
    incidents.add_argument("--text-column", default="text_seg")
    incidents.add_argument("--group-column", default="neardup_group")
    incidents.add_argument("--shares", default="0.3,0.4,0.5,0.6,0.7",
                           help="min_share values to try, comma-separated")
    incidents.add_argument("--profile-size", type=int, default=300,
                           help="3-grams kept per incident (routing.toml's default: 300)")
    incidents.set_defaults(command="eval-incidents")
    trends = classifier_commands.add_parser(
        "eval-trends", help="the rising-problems view replayed over a history of messages (JSON"
                            " lines)")
    trends.add_argument("--data", type=Path, required=True,
                        help="CSV with a time column and text columns, e.g. the shared"
                             " data's messages_with_votes.csv")
    trends.add_argument("--time-column", default="time")
    trends.add_argument("--text-columns", default="title,detail")
    trends.add_argument("--recent-days", type=int, default=7)
    trends.add_argument("--baseline-days", type=int, default=28)
    trends.add_argument("--every-days", type=int, default=30, help="days between two views")
    trends.add_argument("--min-word-reports", type=int, default=10,
                        help="messages a word needs in the recent days to be shown")
    trends.set_defaults(command="eval-trends")

    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per plugin otherwise
    handler = _HANDLERS.get(args.command)
    if handler is None:  # a classifier command: it set its own handler
        return int(args.handler(args) or 0)
    return handler(settings, args)


def _eval_calls(settings: Settings, args: argparse.Namespace) -> int:
    from router.bootstrap import call_assessor
    from router.call_evaluation import evaluate_calls, read_rows

    assessor = call_assessor(settings, args.model)
    report = evaluate_calls(assessor, read_rows(args.data))
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _eval_incidents(_settings: Settings, args: argparse.Namespace) -> int:
    from classifiers.similarity import text_grams
    from router.incident_evaluation import evaluate_incidents, read_groups

    texts, groups = read_groups(args.data, args.text_column, args.group_column)
    shares = [float(share) for share in args.shares.split(",")]
    for result in evaluate_incidents(texts, groups, shares, text_grams, args.profile_size):
        print(json.dumps(result), flush=True)
    return 0


def _eval_trends(_settings: Settings, args: argparse.Namespace) -> int:
    from classifiers import DemandClassifier
    from router.domain.trends import TrendPolicy
    from router.trend_history import evaluate_history

    classifier = DemandClassifier.load()
    policy = TrendPolicy(recent_days=args.recent_days, baseline_days=args.baseline_days)
    for line in evaluate_history(args.data, classifier, classifier.tokenise, policy,
                                 args.every_days, args.min_word_reports, args.time_column,
                                 tuple(args.text_columns.split(","))):
        print(line, flush=True)
    return 0


def _sla_deadline(settings: Settings, args: argparse.Namespace) -> int:
    from router.sla_tools import deadline

    return _print_or_refuse(lambda: deadline(settings.config_dir, args.start, args.target,
                                             args.calendar))


def _sla_elapsed(settings: Settings, args: argparse.Namespace) -> int:
    from router.sla_tools import business_time

    return _print_or_refuse(lambda: business_time(settings.config_dir, args.start, args.end,
                                                  args.calendar))


def _print_or_refuse(answer: Callable[[], dict[str, object]]) -> int:
    from router.domain.errors import ConfigurationError

    try:
        found = answer()
    except (ValueError, ConfigurationError) as exc:
        print(f"hotline-router sla: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(found, ensure_ascii=False))
    return 0


def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from router.worker import run_worker

    run_worker(settings)
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from router.demo import run_demo

    return run_demo(settings, once=args.once, calls_file=args.calls)


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from connectors.kafka_topics import ensure_topics
    from router.replay import replay_file

    if settings.kafka.bootstrap is None:
        print("HOTLINE_KAFKA_BOOTSTRAP must name the broker to replay into", file=sys.stderr)
        return 2
    # a replay before the first worker start must not leave the topic at the broker's default
    asyncio.run(ensure_topics(settings.kafka.bootstrap, [settings.kafka.calls_topic],
                              settings.kafka.partitions, settings.kafka.replicas))
    report = asyncio.run(replay_file(args.file, settings.kafka.bootstrap,
                                     settings.kafka.calls_topic, args.rate, progress=True))
    print(json.dumps({"records": report.records, "seconds": round(report.seconds, 3)}))
    return 0


def _health(settings: Settings, args: argparse.Namespace) -> int:
    from router.health import check_health

    results = check_health(settings, args.timeout)
    print(json.dumps(results, ensure_ascii=False))
    return 0 if all(value == "ok" for value in results.values()) else 1


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from router.bootstrap import database_engine

    database_engine(settings, migrate=True).dispose()
    return 0


def _unit_token(settings: Settings, args: argparse.Namespace) -> int:
    from router.access import Role
    from router.bootstrap import unit_tokens
    from router.config_files import load_router_config

    role = Role(args.role)
    centre = load_router_config(settings.config_dir).routing.dispatcher_unit
    if role is Role.AGENT and args.unit != centre:
        print(f"error: agents are the dispatch centre's ({centre}) call-takers",
              file=sys.stderr)
        return 2
    print(unit_tokens(settings).issue(args.unit, person=args.person, ttl_seconds=args.ttl,
                                      role=role))
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from router.bootstrap import database_engine
    from router.config_files import load_router_config
    from router.metrics import RouterMetrics
    from router.persistence.tickets import TicketRepository
    from router.report import Period, build_report
    from router.sla_reports import RateReports

    try:
        period = Period.month(args.period)
    except ValueError as exc:
        print(f"hotline-router report: {exc}", file=sys.stderr)
        return 2
    config = load_router_config(settings.config_dir)
    # the schema brought up to date first, as the worker does: a fresh database reports empty
    engine = database_engine(settings, migrate=True)
    reports = RateReports(TicketRepository(engine, origin=settings.kafka.app_id),
                          config.sla.rates, RouterMetrics())
    page = build_report(reports, period, {code: unit.name for code, unit
                                          in config.routing.units.items()}, args.out)
    engine.dispose()
    print(json.dumps({"period": period.label, "page": str(page)}))
    return 0


def _export_corrections(settings: Settings, args: argparse.Namespace) -> int:
    from classifiers import mask_personal_data
    from router.bootstrap import database_url, stores_at

    tickets, _ = stores_at(database_url(settings), settings.kafka.app_id)
    rows = tickets.corrections()
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": mask_personal_data(r["text"]), "label": r["label"]}
                         for r in rows)
    print(json.dumps({"rows": len(rows), "out": str(args.out)}))
    return 0


_HANDLERS = {
    "worker": _worker, "demo": _demo, "replay": _replay, "health": _health,
    "migrate": _migrate, "unit-token": _unit_token, "export-corrections": _export_corrections,
    "report": _report,
    "eval-calls": _eval_calls, "eval-trends": _eval_trends,
    "eval-incidents": _eval_incidents, "sla-deadline": _sla_deadline,
    "sla-elapsed": _sla_elapsed,
}

if __name__ == "__main__":
    sys.exit(main())
