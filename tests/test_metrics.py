import numpy as np
import pytest

from framing.eval.evaluate import gate
from framing.eval.metrics import score, tune_thresholds

LABELS = ["a", "b"]


def test_counts_against_hand_computed():
    y = np.array([[1, 0], [1, 1], [0, 0], [0, 1], [1, 0]])
    p = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [1, 1]])
    m = score(y, p, LABELS)
    # label a: tp=2 (rows 0,4), fp=1 (row 2), fn=1 (row 1)
    assert m["labels"]["a"] == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                                "f1": pytest.approx(2 / 3), "support": 3, "tp": 2, "fp": 1, "fn": 1}
    # label b: tp=1 (row 1), fp=1 (row 4), fn=1 (row 3)
    assert (m["labels"]["b"]["tp"], m["labels"]["b"]["fp"], m["labels"]["b"]["fn"]) == (1, 1, 1)
    assert m["micro"]["tp"] == 3 and m["micro"]["precision"] == pytest.approx(3 / 5)
    assert m["macro"]["f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert m["exact_match"] == pytest.approx(1 / 5)  # only row 0 matches fully


def test_no_support_gives_zero_not_nan():
    m = score(np.zeros((3, 2)), np.zeros((3, 2)), LABELS)
    assert m["labels"]["a"]["f1"] == 0.0 and m["exact_match"] == 1.0


def test_thresholds_are_tuned_per_label():
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    probs = np.array([[0.3, 0.1], [0.25, 0.2], [0.1, 0.9], [0.05, 0.6]])
    t = tune_thresholds(y, probs)
    assert 0.1 < t[0] <= 0.25  # separates 0.25/0.3 from 0.1/0.05
    assert 0.6 < t[1] <= 0.9


def test_gate_names_failing_labels():
    m = score(np.array([[1, 0], [0, 1]]), np.array([[1, 0], [0, 0]]), LABELS)
    m["labels"] = {"terrorism": m["labels"]["a"], "solidarity": m["labels"]["b"]}
    failures = gate(m, {"terrorism": 0.5, "solidarity": 0.5})
    assert len(failures) == 1 and failures[0].startswith("solidarity")
