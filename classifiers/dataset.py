"""Reading labelled messages from CSV files (training data, agents' corrections)."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from classifiers.errors import TrainingDataError
from classifiers.tokenise import rejoin_segmented

# Some messages are long posts; the csv module's default 128 KiB field limit is too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class LabelledMessages:
    """Parallel lists: raw-like text, its first-level label, and its near-duplicate group."""

    texts: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def extend(self, other: LabelledMessages) -> None:
        self.texts.extend(other.texts)
        self.labels.extend(other.labels)
        self.groups.extend(other.groups)


def _row_text(row: dict[str, str], path: Path, line: int) -> str:
    if row.get("text"):
        return row["text"]
    if row.get("title") is not None and row.get("detail") is not None:
        return f"{row['title']}\n{row['detail']}"
    if row.get("text_seg"):
        return rejoin_segmented(row["text_seg"])
    raise TrainingDataError(
        f"{path}: line {line}: needs a non-empty 'text', 'title'+'detail' or 'text_seg' column"
    )


def read_labelled_csv(path: Path, text_columns: tuple[str, ...] | None = None) -> LabelledMessages:
    """Read one CSV with a `label` column and text in `text`, `title`+`detail` or `text_seg`.

    Rows share a group when they share `neardup_group` (or `dup_group`); otherwise each row
    is its own group. Group ids are prefixed with the file name so files never collide.
    `text_columns` forces which columns make the text (e.g. ("title",) for title-only eval).
    """
    messages = LabelledMessages()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if "label" not in columns:
                raise TrainingDataError(f"{path}: missing required column 'label'")
            if text_columns and not set(text_columns) <= columns:
                raise TrainingDataError(f"{path}: missing column(s) {sorted(text_columns)}")
            for line, row in enumerate(reader, start=2):
                label = (row.get("label") or "").strip()
                if not label:
                    raise TrainingDataError(f"{path}: line {line}: empty 'label'")
                if text_columns:
                    text = "\n".join(row[column] or "" for column in text_columns)
                else:
                    text = _row_text(row, path, line)
                group = row.get("neardup_group") or row.get("dup_group") or f"row{line}"
                messages.texts.append(text)
                messages.labels.append(label)
                messages.groups.append(f"{path.name}:{group}")
    except (OSError, UnicodeDecodeError) as error:
        raise TrainingDataError(f"{path}: cannot read: {error}") from error
    return messages


def read_labelled_csvs(paths: Iterable[Path]) -> LabelledMessages:
    messages = LabelledMessages()
    for path in paths:
        messages.extend(read_labelled_csv(path))
    return messages
