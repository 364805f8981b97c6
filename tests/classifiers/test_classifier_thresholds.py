import numpy as np

from classifiers.thresholds import FLOOR, choose_thresholds

CATEGORIES = ("甲", "乙")


def test_threshold_is_the_lowest_confidence_meeting_the_precision_target() -> None:
    # 20 predictions of 甲: confident ones right, the 5 least confident all wrong
    confidence = np.linspace(0.99, 0.6, 20)
    probabilities = np.column_stack([confidence, 1 - confidence])
    labels = ["甲"] * 15 + ["乙"] * 5
    thresholds, report = choose_thresholds(probabilities, labels, CATEGORIES, 0.95)
    assert thresholds["甲"] == confidence[14]
    assert report["per_category"]["甲"]["precision"] == 1.0
    assert report["per_category"]["甲"]["coverage"] == 0.75


def test_category_never_meeting_the_target_is_never_automatic() -> None:
    probabilities = np.column_stack([np.full(30, 0.9), np.full(30, 0.1)])
    labels = ["甲", "乙"] * 15
    thresholds, report = choose_thresholds(probabilities, labels, CATEGORIES, 0.95)
    assert thresholds["甲"] == 1.0
    assert report["per_category"]["甲"]["auto_dispatched"] == 0


def test_threshold_never_goes_below_the_floor() -> None:
    # three categories, so 甲 stays the top choice even at 0.4
    confidence = np.linspace(0.9, 0.4, 40)
    rest = (1 - confidence) / 2
    probabilities = np.column_stack([confidence, rest, rest])
    thresholds, _ = choose_thresholds(probabilities, ["甲"] * 40, ("甲", "乙", "丙"), 0.95)
    assert thresholds["甲"] == FLOOR


def test_dispatch_outcome_counts_only_predictions_above_their_threshold() -> None:
    from classifiers.thresholds import dispatch_outcome

    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    labels = np.array(["甲", "乙", "乙", "甲"])
    outcome = dispatch_outcome(probabilities, labels, CATEGORIES, {"甲": 0.8, "乙": 0.75})
    assert outcome == {"coverage": 0.5, "precision": 1.0}
