"""Command line: `classifier train`, `classifier eval` and `classifier train-danger`.

`add_classifier_commands` plugs these into the `hotline-router` CLI; `python -m classifiers`
runs them standalone. The shipped artifacts are made with (DATA = the teddy2020c folder):

    python -m classifiers classifier train --data DATA/messages_labelled_segmented.csv \
        --stop-words DATA/stop_words.txt --cv 5
    python -m classifiers classifier train-danger --data tests/data/spoken_calls/dev.jsonl \
        --ordinary DATA/messages_labelled_raw.csv --ordinary DATA/messages_with_votes.csv \
        --ordinary DATA/messages_with_replies.csv

Reports are JSON on stdout; they hold figures only, never message text.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from classifiers.danger import DEFAULT_DANGER_MODEL_PATH, DangerModel
from classifiers.dataset import read_labelled_csv, read_labelled_csvs
from classifiers.errors import ClassifierError
from classifiers.evaluation import evaluate
from classifiers.model import DEFAULT_MODEL_PATH, DemandClassifier
from classifiers.tokenise import load_word_list
from classifiers.training import TrainingSettings, train_classifier


def _print_json(report: Any) -> None:
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _train(args: argparse.Namespace) -> int:
    messages = read_labelled_csvs(args.data)
    if args.corrections:
        # agent-corrected tickets (text,label) count as extra training rows, one group each
        messages.extend(read_labelled_csv(args.corrections))
    stop_words = load_word_list(args.stop_words) if args.stop_words else []
    settings = replace(TrainingSettings(), cv_folds=args.cv)
    classifier = train_classifier(messages, settings, stop_words, progress=True)
    path = classifier.save(args.out)
    report = dict(classifier.training_report)
    report["model_version"] = classifier.model_version
    report["artifact"] = str(path)
    report["artifact_bytes"] = path.stat().st_size
    _print_json(report)
    return 0


def _eval(args: argparse.Namespace) -> int:
    classifier = DemandClassifier.load(args.model)
    columns = tuple(args.text_columns.split("+")) if args.text_columns else None
    messages = read_labelled_csv(args.data, columns)
    _print_json(evaluate(classifier, messages.texts, messages.labels))
    return 0


def _train_danger(args: argparse.Namespace) -> int:
    texts: list[str] = []
    lines: list[str | None] = []
    for path in args.data:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                texts.append(str(row["text"]))
                lines.append(row["service"] if row["urgency"] == "emergency" else None)
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ClassifierError(f"{path}:{number}: {error!r}") from error
    written = len(texts)
    for path in args.ordinary or ():
        # titles of real messages: short ordinary demands, none of them an emergency
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        # the title alone (as short as a summary) and with the start of the message (as long
        # as a detailed one), so that length says nothing about danger
        titles = {(row.get("title") or "").strip() for row in rows}
        openings = {((row.get("title") or "") + "，" + (row.get("detail") or "")[:80]).strip("，")
                    for row in rows}
        fresh = sorted(text for text in titles | openings if text)
        texts += fresh
        lines += [None] * len(fresh)
    model = DangerModel().fit(texts, lines)
    path = model.save(args.out)
    _print_json({"written_rows": written, "ordinary_titles": len(texts) - written,
                 "emergencies": sum(1 for line in lines if line),
                 "artifact": str(path), "artifact_bytes": path.stat().st_size})
    return 0


def _eval_dedupe(args: argparse.Namespace) -> int:
    import csv
    import dataclasses

    from classifiers.similarity import evaluate

    with args.data.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for column in (args.text_column, args.group_column):
        if rows and column not in rows[0]:
            raise ClassifierError(f"{args.data}: no column {column!r}")
    # segmented text keeps its words apart with spaces; the signature ignores them anyway
    texts = [row[args.text_column] for row in rows]
    groups = [row[args.group_column] for row in rows]
    thresholds = [float(t) for t in args.thresholds.split(",")]
    scores = [dataclasses.asdict(s) for s in evaluate(texts, groups, thresholds)]
    print(json.dumps({"rows": len(rows), "scores": scores}, ensure_ascii=False, indent=2))
    return 0


def add_classifier_commands(subparsers: argparse._SubParsersAction[Any]
                            ) -> argparse._SubParsersAction[Any]:
    """Register `classifier train`, `eval` and `train-danger` under an existing CLI; returns
    the `classifier` command's own subparsers, where an application may add more."""
    classifier = subparsers.add_parser("classifier", help="train or evaluate the demand classifier")
    commands: argparse._SubParsersAction[Any] = classifier.add_subparsers(
        dest="classifier_command", required=True)

    train = commands.add_parser("train", help="cross-validate, set thresholds, save an artifact")
    train.add_argument("--data", type=Path, action="append", required=True, help="labelled CSV")
    train.add_argument("--corrections", type=Path, help="CSV text,label of corrected tickets")
    train.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH, help="artifact path")
    train.add_argument("--cv", type=int, default=5, help="grouped cross-validation folds (>=2)")
    train.add_argument("--stop-words", type=Path, help="stop words removed from the data")
    train.set_defaults(handler=_train)

    evaluation = commands.add_parser("eval", help="print quality and speed on labelled data")
    evaluation.add_argument("--data", type=Path, required=True, help="labelled CSV")
    evaluation.add_argument("--model", type=Path, help="artifact (default: the shipped one)")
    evaluation.add_argument(
        "--text-columns", help="force the text columns, e.g. 'title' for title-only evaluation"
    )
    evaluation.set_defaults(handler=_eval)

    danger = commands.add_parser("train-danger",
                                 help="train the danger model behind the urgency rules")
    danger.add_argument("--data", type=Path, action="append", required=True,
                        help="JSONL of written calls (text, urgency, service)")
    danger.add_argument("--ordinary", type=Path, action="append",
                        help="CSV with title (and detail) columns of ordinary demands")
    danger.add_argument("--out", type=Path, default=DEFAULT_DANGER_MODEL_PATH)
    danger.set_defaults(handler=_train_danger)

    dedupe = commands.add_parser(
        "eval-dedupe", help="near-duplicate detection against labelled groups (JSON)")
    dedupe.add_argument("--data", type=Path, required=True,
                        help="CSV with a text column and a group column")
    dedupe.add_argument("--text-column", default="text_seg")
    dedupe.add_argument("--group-column", default="neardup_group")
    dedupe.add_argument("--thresholds", default="0.5,0.6,0.7,0.8",
                        help="estimated-Jaccard thresholds to try, comma-separated")
    dedupe.set_defaults(handler=_eval_dedupe)
    return commands


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classifiers")
    add_classifier_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except ClassifierError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
