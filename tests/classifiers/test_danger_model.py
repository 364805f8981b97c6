"""The danger model: trained on written calls, saved, loaded, explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifiers import DangerModel, ModelArtifactError

EMERGENCIES = ["着火了快来人", "有人晕倒了叫不醒", "两车相撞有人流血", "有人拿刀砍人",
               "楼里着火冒烟", "老人晕倒在地", "车撞了人流血", "小偷拿刀抢劫"] * 3
ORDINARY = ["小区路灯不亮", "物业费太贵了", "学校乱收费", "公交车晚点", "噪音扰民",
            "医院排队太久", "社保怎么转移", "商家不给退款"] * 3


@pytest.fixture(scope="module")
def model() -> DangerModel:
    lines = ["119", "120", "122", "110"] * 6 + [None] * len(ORDINARY)
    return DangerModel().fit(EMERGENCIES + ORDINARY, lines)


def test_danger_is_scored_higher_for_a_call_like_the_emergencies(model: DangerModel) -> None:
    danger, ordinary = model.emergency_probability(["仓库着火了快来人", "小区路灯坏了"])
    assert danger > 0.5
    assert ordinary < 0.5


def test_the_explanation_names_ngrams_of_the_text(model: DangerModel) -> None:
    reasons = model.explain("仓库着火了")
    assert reasons
    assert all(ngram in "仓库着火了" for ngram in reasons)


def test_a_saved_model_loads_and_scores_the_same(model: DangerModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "danger.joblib")
    again = DangerModel.load(path)
    texts = ["仓库着火了", "物业不管"]
    assert again.emergency_probability(texts) == model.emergency_probability(texts)


def test_a_missing_or_foreign_artifact_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelArtifactError, match="not found"):
        DangerModel.load(tmp_path / "absent.joblib")
    import joblib

    joblib.dump({"format": 99}, tmp_path / "other.joblib")
    with pytest.raises(ModelArtifactError, match="format"):
        DangerModel.load(tmp_path / "other.joblib")


def test_an_untrained_model_says_so() -> None:
    with pytest.raises(ModelArtifactError, match="not trained"):
        DangerModel().scores(["着火了"])


def test_the_shipped_model_loads() -> None:
    shipped = DangerModel.load()
    assert 0.0 <= shipped.emergency_probability(["小区停水了"])[0] <= 1.0
