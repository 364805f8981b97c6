import argparse
import csv
import json
from pathlib import Path

import pytest

from classifiers.cli import add_classifier_commands, main
from tests.classifiers.written_corpus import written_messages


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def training_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    messages = written_messages()
    rows = [
        {"label": label, "text": text, "neardup_group": group}
        for text, label, group in zip(messages.texts, messages.labels, messages.groups, strict=True)
    ]
    return _write_csv(tmp_path_factory.mktemp("data") / "train.csv", rows)


def test_commands_plug_into_another_cli() -> None:
    parser = argparse.ArgumentParser(prog="hotline-router")
    add_classifier_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["classifier", "eval", "--data", "x.csv"])
    assert args.classifier_command == "eval"
    assert args.data == Path("x.csv")


def test_train_then_eval_prints_json_reports(
    training_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corrections = _write_csv(
        tmp_path / "corrections.csv",
        [{"text": "学校收取资料费不合理", "label": "教育文体"}],
    )
    model = tmp_path / "model.joblib"
    argv = ["classifier", "train", "--data", str(training_csv), "--corrections", str(corrections)]
    assert main([*argv, "--out", str(model), "--cv", "3"]) == 0
    printed = capsys.readouterr()
    trained = json.loads(printed.out)
    assert printed.err == ""  # the progress bars are for a terminal only
    assert trained["messages"] == len(written_messages()) + 1
    assert set(trained["thresholds"]["per_category"]) == {"城乡建设", "教育文体", "卫生计生"}
    assert model.exists()

    holdout = _write_csv(
        tmp_path / "holdout.csv",
        [
            {"title": "物业乱收费", "detail": "小区物业公司乱收物业费", "label": "城乡建设"},
            {"title": "补课", "detail": "学校老师违规补课", "label": "教育文体"},
        ],
    )
    assert main(["classifier", "eval", "--data", str(holdout), "--model", str(model)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix"} <= set(evaluated)
    assert evaluated["messages_per_second"] > 0
    assert evaluated["confusion_matrix"]["labels"] == sorted(evaluated["per_class"])


def test_bad_csv_is_reported_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _write_csv(tmp_path / "bad.csv", [{"text": "没有标签列"}])
    assert main(["classifier", "train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert "bad.csv" in capsys.readouterr().err
