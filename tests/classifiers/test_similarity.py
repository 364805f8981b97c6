"""Near-duplicate demands by MinHash/LSH: the same demand retold with other punctuation,
spacing or characters is found; another demand about the same place is not."""

from __future__ import annotations

from classifiers.similarity import NearDuplicateIndex, evaluate, shingles, signature

WATER = "城关区张掖路街道某小区从昨天早上开始停水，到现在还没有来水，家里老人孩子用水困难。"
WATER_AGAIN = "城关区張掖路街道某小区從昨天早上開始停水 到現在還沒有來水！家裡老人孩子用水困難"
WATER_SHORTER = "张掖路街道某小区昨天早上开始停水，到现在还没有来水，家里老人孩子用水困难"
NOISE = "城关区张掖路街道某小区旁边工地夜里施工噪音很大，凌晨还在打桩，影响休息。"


def test_shingles_ignore_punctuation_spacing_and_traditional_characters() -> None:
    assert shingles("停水，停水！") == shingles("停 水停水")
    assert shingles("來水") == shingles("来水")
    assert shingles("") == set()


def test_the_same_demand_retold_is_found_and_another_demand_is_not() -> None:
    index = NearDuplicateIndex(threshold=0.6)
    index.add("water", signature(WATER))
    index.add("noise", signature(NOISE))
    assert [key for key, _ in index.similar(signature(WATER_AGAIN))] == ["water"]
    assert [key for key, _ in index.similar(signature(WATER_SHORTER))] == ["water"]
    index.remove("water")
    assert index.similar(signature(WATER_AGAIN)) == []
    assert len(index) == 1


def test_evaluation_counts_pairs_within_groups() -> None:
    texts = [WATER, WATER_AGAIN, NOISE, WATER_SHORTER]
    [score] = evaluate(texts, ["w", "w", "n", "w"], [0.6])
    assert (score.true_pairs, score.predicted_pairs) == (3, 3)
    assert (score.precision, score.recall) == (1.0, 1.0)
