"""The rising-problems view over a history file: times read in either format, words with
too few messages never shown."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from router.domain.trends import TrendPolicy
from router.trend_history import parse_time, read_history, trend_steps


def test_both_time_formats_are_read_and_others_counted_as_unreadable(tmp_path: Path) -> None:
    assert parse_time("2019/2/28 11:25:05") is not None
    assert parse_time("2017-06-08 17:31:20") is not None
    assert parse_time("last tuesday") is None
    path = tmp_path / "history.csv"
    path.write_text("time,title,detail\n2019/2/28 11:25:05,停水,三天\n,无时间,x\n",
                    encoding="utf-8")
    days, texts, unreadable = read_history(path, "time", ("title", "detail"))
    assert (days, texts, unreadable) == ([date(2019, 2, 28)], ["停水三天"], 1)


def test_a_rising_word_is_shown_and_a_rare_one_never() -> None:
    start = date(2019, 1, 1)
    days, categories, words = [], [], []
    for n in range(35 * 4):  # four messages a day for five weeks
        days.append(start + timedelta(days=n // 4))
        categories.append("城乡建设")
        words.append(["小区", "物业"])
    for n in range(12):  # the last week: a new matter, and a name used twice
        days.append(start + timedelta(days=34))
        categories.append("城乡建设")
        words.append(["电梯", "张三丰"] if n < 2 else ["电梯"])
    [step] = trend_steps(days, categories, words, TrendPolicy(), every_days=7,
                         min_word_reports=5, limit=10)
    assert [r["key"] for r in step["rising_words"]] == ["电梯"]
    assert step["rising_categories"] == []  # the share of 城乡建设 did not change
