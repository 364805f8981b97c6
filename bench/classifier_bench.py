"""Benchmarks of the demand classifier on the Teddy Cup 2020 C data (not shipped, not tests).

    python bench/classifier_bench.py throughput --data DIR [--model PATH]
    python bench/classifier_bench.py tokenisers --data DIR
    python bench/classifier_bench.py holdout    --data DIR [--cv 5]

`DIR` is the teddy2020c folder. Output is JSON with figures only: no message text is printed.

- throughput: one core, raw title+detail messages of the data's own length, batches of 256;
  median of several runs, peak resident memory, artifact size and load time (fresh process).
- tokenisers: rjieba vs jieba precise mode on raw messages: identical-segmentation rate and speed.
- holdout: messages_labelled_raw.csv overlaps the segmented file; trains on the segmented rows
  whose near-duplicate group matches no raw row, then evaluates on the raw file with full text
  and with the title alone (short input).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

# one core, one BLAS thread: the figure the router's executor thread will see
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.feature_extraction.text import TfidfVectorizer

from classifiers.dataset import LabelledMessages, read_labelled_csv
from classifiers.evaluation import evaluate
from classifiers.model import DEFAULT_MODEL_PATH, DemandClassifier
from classifiers.tokenise import DemandTokenizer, load_word_list
from classifiers.training import TrainingSettings, train_classifier

RAW = "messages_labelled_raw.csv"
SEGMENTED = "messages_labelled_segmented.csv"
STOP_WORDS = "stop_words.txt"
OVERLAP_COSINE = 0.6  # word TF-IDF cosine above which a raw row counts as in the segmented file


def _raw_texts(data: Path) -> list[str]:
    with (data / RAW).open(encoding="utf-8") as handle:
        return [f"{row['title']}\n{row['detail']}" for row in csv.DictReader(handle)]


def _print(report: dict[str, Any]) -> None:
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _load_seconds(model: Path) -> float:
    code = (
        "import time; t = time.perf_counter(); "
        "from classifiers import DemandClassifier; "
        f"DemandClassifier.load({str(model)!r}); print(time.perf_counter() - t)"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    return float(result.stdout.strip())


def throughput(args: argparse.Namespace) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    model_path = args.model or DEFAULT_MODEL_PATH
    classifier = DemandClassifier.load(model_path)
    texts = _raw_texts(args.data)
    batch = (texts * (args.messages // len(texts) + 1))[: args.messages]
    size = args.batch
    classifier.predict(batch[:size])  # warm-up: segmenter dictionary, caches
    rates = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for start in range(0, len(batch), size):
            classifier.predict(batch[start : start + size])
        rates.append(len(batch) / (time.perf_counter() - started))
    loads = [_load_seconds(Path(model_path)) for _ in range(3)]
    # machine reference: this shared VM's speed drifts with its neighbours' load; rjieba's
    # rate on the same text lets figures from different runs and machines be compared
    import rjieba

    started = time.perf_counter()
    for text in batch:
        rjieba.cut(text)
    segmenter_rate = sum(len(text) for text in batch) / (time.perf_counter() - started)
    _print(
        {
            "messages_per_run": len(batch),
            "batch_size": size,
            "median_chars_per_message": statistics.median(len(t) for t in texts),
            "runs_messages_per_second": [round(rate) for rate in rates],
            "median_messages_per_second": round(statistics.median(rates)),
            "reference_rjieba_chars_per_second": round(segmenter_rate),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "artifact_mb": round(Path(model_path).stat().st_size / 2**20, 2),
            "import_and_load_seconds_median": round(statistics.median(loads), 2),
            "model_version": classifier.model_version,
        }
    )


def tokenisers(args: argparse.Namespace) -> None:
    import jieba
    import rjieba

    texts = _raw_texts(args.data) + load_unlabelled(args.data)
    jieba.initialize()
    timings: dict[str, float] = {}
    segmented: dict[str, list[list[str]]] = {}
    for name, cut in (("jieba", jieba.lcut), ("rjieba", rjieba.cut)):
        started = time.perf_counter()
        segmented[name] = [list(cut(text)) for text in texts]
        timings[name] = time.perf_counter() - started
    same = sum(a == b for a, b in zip(segmented["jieba"], segmented["rjieba"], strict=True))
    tokens = sum(len(tokens) for tokens in segmented["jieba"])
    differing = sum(
        len(set(a) ^ set(b)) for a, b in zip(segmented["jieba"], segmented["rjieba"], strict=True)
    )
    chars = sum(len(text) for text in texts)
    _print(
        {
            "messages": len(texts),
            "identical_segmentation_rate": round(same / len(texts), 4),
            "differing_token_types_per_1000_tokens": round(1000 * differing / tokens, 2),
            "jieba_chars_per_second": round(chars / timings["jieba"]),
            "rjieba_chars_per_second": round(chars / timings["rjieba"]),
        }
    )


def load_unlabelled(data: Path) -> list[str]:
    texts: list[str] = []
    for name in ("messages_with_votes.csv", "messages_with_replies.csv"):
        with (data / name).open(encoding="utf-8") as handle:
            texts.extend(f"{row['title']}\n{row['detail']}" for row in csv.DictReader(handle))
    return texts


def _overlapping_groups(
    segmented: LabelledMessages, raw_texts: list[str], stop: list[str]
) -> set[str]:
    """Groups of the segmented file holding a message that matches some raw row."""
    tokenizer = DemandTokenizer(stop)
    vectorizer = TfidfVectorizer(tokenizer=str.split, token_pattern=None, lowercase=False)
    labelled = vectorizer.fit_transform([tokenizer(text) for text in segmented.texts])
    raw = vectorizer.transform([tokenizer(text) for text in raw_texts])
    similarity = (raw @ labelled.T).tocsr()
    groups: set[str] = set()
    for row in range(similarity.shape[0]):
        start, end = similarity.indptr[row], similarity.indptr[row + 1]
        hits = similarity.indices[start:end][similarity.data[start:end] > OVERLAP_COSINE]
        groups.update(segmented.groups[i] for i in hits)
    return groups


def holdout(args: argparse.Namespace) -> None:
    stop = load_word_list(args.data / STOP_WORDS)
    segmented = read_labelled_csv(args.data / SEGMENTED)
    raw_full = read_labelled_csv(args.data / RAW)
    raw_title = read_labelled_csv(args.data / RAW, ("title",))
    overlap = _overlapping_groups(segmented, raw_full.texts, stop)
    kept = [i for i, group in enumerate(segmented.groups) if group not in overlap]
    training = LabelledMessages(
        [segmented.texts[i] for i in kept],
        [segmented.labels[i] for i in kept],
        [segmented.groups[i] for i in kept],
    )
    classifier = train_classifier(training, replace(TrainingSettings(), cv_folds=args.cv), stop)
    shipped = DemandClassifier.load(args.model) if args.model else DemandClassifier.load()
    full = evaluate(classifier, raw_full.texts, raw_full.labels)
    title = evaluate(classifier, raw_title.texts, raw_title.labels)
    inflated = evaluate(shipped, raw_full.texts, raw_full.labels)
    _print(
        {
            "raw_rows": len(raw_full),
            "segmented_rows_overlapping_raw": len(segmented) - len(kept),
            "segmented_groups_overlapping_raw": len(overlap),
            "holdout_training_rows": len(training),
            "raw_full_text": {k: full[k] for k in ("accuracy", "macro_f1", "auto_dispatch")},
            "raw_title_only": {k: title[k] for k in ("accuracy", "macro_f1", "auto_dispatch")},
            "raw_title_only_per_class": title["per_class"],
            "shipped_model_on_raw_inflated_by_overlap": {
                k: inflated[k] for k in ("accuracy", "macro_f1")
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler in (
        ("throughput", throughput),
        ("tokenisers", tokenisers),
        ("holdout", holdout),
    ):
        command = commands.add_parser(name)
        command.add_argument("--data", type=Path, required=True, help="teddy2020c directory")
        command.add_argument("--model", type=Path, help="artifact (default: the shipped one)")
        command.add_argument("--runs", type=int, default=7)
        command.add_argument("--messages", type=int, default=5000)
        command.add_argument("--batch", type=int, default=256, help="messages per predict call")
        command.add_argument("--cv", type=int, default=5)
        command.set_defaults(handler=handler)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
