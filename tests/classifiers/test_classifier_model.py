from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from classifiers import DemandClassifier, ModelArtifactError, Prediction
from classifiers.thresholds import FLOOR

CLEAR_CASES = {
    "小区物业乱收物业费，电梯坏了没人修": "城乡建设",
    "学校老师违规补课，向学生收取资料费": "教育文体",
    "医院医生态度差，看病排队太久": "卫生计生",
}


def test_predicts_the_obvious_category(tiny_classifier: DemandClassifier) -> None:
    predictions = tiny_classifier.predict(list(CLEAR_CASES))
    assert [p.category for p in predictions] == list(CLEAR_CASES.values())


def test_prediction_carries_sorted_alternatives_and_version(
    tiny_classifier: DemandClassifier,
) -> None:
    (prediction,) = tiny_classifier.predict(["学校食堂饭菜质量差"])
    assert isinstance(prediction, Prediction)
    assert prediction.alternatives[0] == (prediction.category, prediction.confidence)
    probabilities = [probability for _, probability in prediction.alternatives]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0.0 < prediction.confidence <= 1.0
    assert prediction.model_version == tiny_classifier.model_version


def test_probabilities_sum_to_one(tiny_classifier: DemandClassifier) -> None:
    probabilities = tiny_classifier.predict_proba(["医院收费不合理", ""])
    assert probabilities.sum(axis=1) == pytest.approx([1.0, 1.0])


def test_empty_batch_gives_no_predictions(tiny_classifier: DemandClassifier) -> None:
    assert tiny_classifier.predict([]) == []


@pytest.mark.parametrize("vague", ["", "喂，你好", "今天天气怎么样", "12345"])
def test_vague_input_stays_below_the_dispatch_threshold(
    tiny_classifier: DemandClassifier, vague: str
) -> None:
    (prediction,) = tiny_classifier.predict([vague])
    assert prediction.confidence < FLOOR
    assert prediction.confidence < tiny_classifier.thresholds[prediction.category]


def test_thresholds_cover_every_category_and_respect_the_floor(
    tiny_classifier: DemandClassifier,
) -> None:
    assert set(tiny_classifier.thresholds) == set(tiny_classifier.categories)
    assert all(FLOOR <= t <= 1.0 for t in tiny_classifier.thresholds.values())


def test_save_and_load_give_identical_predictions(
    tiny_classifier: DemandClassifier, tiny_artifact: Path
) -> None:
    loaded = DemandClassifier.load(tiny_artifact)
    texts = [*CLEAR_CASES, "", "幼儿园学位不够"]
    assert loaded.predict(texts) == tiny_classifier.predict(texts)
    assert dict(loaded.thresholds) == dict(tiny_classifier.thresholds)
    assert loaded.categories == tiny_classifier.categories
    assert loaded.model_version == tiny_classifier.model_version


def test_thresholds_cannot_be_changed_on_a_shared_model(
    tiny_classifier: DemandClassifier,
) -> None:
    with pytest.raises(TypeError):
        tiny_classifier.thresholds["城乡建设"] = 0.0  # type: ignore[index]


def test_concurrent_predictions_match_sequential_ones(tiny_classifier: DemandClassifier) -> None:
    texts = [*CLEAR_CASES] * 20
    expected = tiny_classifier.predict(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: tiny_classifier.predict(texts), range(8)))
    assert all(result == expected for result in results)


def test_loading_a_missing_artifact_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.joblib"
    with pytest.raises(ModelArtifactError, match=r"nope\.joblib"):
        DemandClassifier.load(missing)


def test_loading_a_foreign_file_is_refused(tmp_path: Path) -> None:
    import joblib

    foreign = tmp_path / "other.joblib"
    joblib.dump({"something": "else"}, foreign)
    with pytest.raises(ModelArtifactError, match=r"other\.joblib"):
        DemandClassifier.load(foreign)


def test_training_report_gives_cv_and_dispatch_figures_for_long_and_short_text(
    tiny_classifier: DemandClassifier,
) -> None:
    report = tiny_classifier.training_report
    assert 0.0 <= report["cv_calibrated_macro_f1_mean"] <= 1.0
    assert 0.0 <= report["cv_short_text_macro_f1_mean"] <= 1.0
    assert set(report["thresholds"]["by_length"]) == {"full", "short"}


def test_calibrator_uses_message_length(tiny_classifier: DemandClassifier) -> None:
    scores = np.tile(np.linspace(1.0, -1.0, len(tiny_classifier.categories)), (2, 1))
    long_and_short = tiny_classifier.calibrator.predict_proba(scores, [200, 2])
    assert not np.allclose(long_and_short[0], long_and_short[1])


def test_prediction_counts_the_words_the_model_read(tiny_classifier: DemandClassifier) -> None:
    fragment, complaint = tiny_classifier.predict(["您好，", "小区物业乱收物业费，电梯坏了没人修"])
    assert fragment.content_tokens == 0  # "您好" is a stop word in the tiny model
    assert complaint.content_tokens >= 5
