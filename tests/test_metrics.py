import numpy as np
import pytest

from framing.eval.evaluate import gate, stream_figures
from framing.eval.metrics import score, tune_balanced_thresholds, tune_stream_thresholds, tune_thresholds

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
    m.update(stream_figures(np.array([[1, 0], [0, 1]]), np.array([[1, 0], [0, 0]])))
    failures = gate({"gold": m}, {"gold": {"terrorism": 0.5, "solidarity": 0.5, "max_false_alarms_per_1000": 0}})
    assert len(failures) == 1 and failures[0].startswith("gold solidarity")
    failures = gate({"gold": m}, {"gold": {"micro_precision": 1.01}, "stream": {"macro": 0.1}})
    assert failures == ["gold micro_precision: 1.000 < floor 1.010", "stream: not evaluated (its files are missing)"]


def test_stream_figures_against_hand_computed():
    y = np.array([[0, 0], [0, 0], [0, 0], [1, 0], [0, 0]])
    p = np.array([[1, 0], [0, 0], [0, 0], [1, 1], [0, 0]])
    f = stream_figures(y, p)
    assert f["frame_free_flagged"] == pytest.approx(1 / 4)  # row 0 of the four frame-free rows
    assert f["false_alarms_per_1000"] == pytest.approx(1000 * 2 / 5)  # rows 0 and 3 carry a wrong flag
    assert f["framed_share"] == pytest.approx(1 / 5)


def test_stream_thresholds_rise_when_the_base_rate_falls():
    rng = np.random.default_rng(0)
    y = (rng.random((400, 1)) < 0.3).astype(int)
    p = np.clip(0.35 * y + rng.normal(0.35, 0.15, y.shape), 0, 1)
    dense = tune_thresholds(y, p)[0]
    rare = np.zeros((600, 1), dtype=int)
    rare[:6] = 1  # 1% framed
    stream = tune_stream_thresholds(y, p, rare, np.full((600, 1), 0.1))[0]
    assert stream > dense


def test_balanced_thresholds_keep_both_false_alarm_ceilings():
    """The best dev F1 among thresholds that keep the ceilings (checked against every threshold
    of the grid): the dense optimum flags too many frame-free dev sentences."""
    rng = np.random.default_rng(1)
    y_dev = np.array([[1]] * 30 + [[0]] * 120)
    p_dev = np.clip(np.concatenate([rng.normal(0.7, 0.15, 30), rng.normal(0.35, 0.15, 120)]), 0, 1)[:, None]
    y_stream, p_stream = np.zeros((1000, 1), dtype=int), np.full((1000, 1), 0.1)

    def f1(t):
        return score(y_dev, p_dev >= t, ["x"])["macro"]["f1"]

    def flagged(t):
        return (p_dev[y_dev[:, 0] == 0, 0] >= t).mean()

    grid = np.round(np.arange(0.05, 0.991, 0.01), 3)
    t = tune_balanced_thresholds(y_dev, p_dev, y_stream, p_stream, start=np.array([0.95]))[0]
    assert flagged(t) <= 0.03 < flagged(tune_thresholds(y_dev, p_dev)[0])
    assert f1(t) == max(f1(g) for g in grid if flagged(g) <= 0.03) > f1(0.95)
    p_stream[:6] = 0.9  # 6 false alarms per 1,000 stream sentences below 0.9: only higher thresholds keep that ceiling
    assert tune_balanced_thresholds(y_dev, p_dev, y_stream, p_stream, start=np.array([0.95]))[0] > 0.9
    assert tune_balanced_thresholds(y_dev, p_dev, y_stream, p_stream, start=np.array([0.5]))[0] == 0.5  # start breaks it: as is
