"""A transformer labeller blended with a character n-gram TF-IDF labeller.

The n-gram model keys on surface forms in any register and spacing; the encoder generalises
across wordings. Their probabilities are averaged with one weight, chosen on dev. The n-gram
part lives in the model directory's ``ngram/`` folder (safetensors, no pickle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

NGRAM_DIR = "ngram"
WEIGHTS = np.round(np.arange(0.0, 0.71, 0.1), 2)


class Blend:
    def __init__(self, transformer, ngram, weight: float):
        self.transformer, self.ngram, self.weight = transformer, ngram, float(weight)

    def predict_proba(self, texts: list[str], batch_size: int = 32, progress=None) -> np.ndarray:
        p = self.transformer.predict_proba(texts, batch_size=batch_size, progress=progress)
        return self.mix(p, self.ngram.predict_proba(texts))

    def mix(self, transformer_probs: np.ndarray, ngram_probs: np.ndarray) -> np.ndarray:
        return ((1 - self.weight) * transformer_probs + self.weight * ngram_probs).astype(np.float32)

    def save(self, directory: Path, labels: list[str]) -> None:
        self.transformer.save(directory, labels)
        (directory / NGRAM_DIR).mkdir()
        self.ngram.save(directory / NGRAM_DIR, labels)


def choose_weight(y: np.ndarray, transformer_probs: np.ndarray, ngram_probs: np.ndarray, labels) -> tuple[float, list[dict]]:
    """The weight with the best dev macro F1 at per-label tuned thresholds (ties: the smaller)."""
    from framing.eval.metrics import score, tune_thresholds

    trials = []
    for w in WEIGHTS:
        p = (1 - w) * transformer_probs + w * ngram_probs
        f1 = score(y, p >= tune_thresholds(y, p), labels)["macro"]["f1"]
        trials.append({"weight": float(w), "dev_macro_f1": round(f1, 4)})
    best = max(trials, key=lambda t: (t["dev_macro_f1"], -t["weight"]))
    return best["weight"], trials
