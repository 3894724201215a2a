"""The classical baseline: character n-gram TF-IDF + one logistic regression per label.

Saved without pickle: the vocabulary and settings as JSON, idf and the linear weights as
safetensors; inference recomputes the features with the same formula sklearn uses
(sublinear tf, idf, l2 norm) so the saved model needs no fitted sklearn object."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from framing.errors import Errors, FramingError


class TfidfLabeller:
    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
                 ngram_range: tuple[int, int]):
        self.vocabulary, self.idf, self.coef, self.intercept = vocabulary, idf, coef, intercept
        self.ngram_range = tuple(ngram_range)
        self._counter = CountVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, vocabulary=vocabulary,
                                        lowercase=True, dtype=np.float32)

    @classmethod
    def fit(cls, texts: list[str], y: np.ndarray, ngram_range=(1, 4), max_features=200000, C=4.0, seed=0):
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(ngram_range), max_features=max_features,
                              sublinear_tf=True, lowercase=True, dtype=np.float32)
        x = vec.fit_transform(texts)
        coef, intercept = [], []
        for j in range(y.shape[1]):
            if y[:, j].min() == y[:, j].max():  # a label never (or always) seen: constant score
                coef.append(np.zeros(x.shape[1], dtype=np.float32))
                intercept.append(-10.0 if y[0, j] == 0 else 10.0)
                continue
            clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=seed)
            clf.fit(x, y[:, j])
            coef.append(clf.coef_[0].astype(np.float32))
            intercept.append(float(clf.intercept_[0]))
        vocab = {term: int(i) for term, i in vec.vocabulary_.items()}
        return cls(vocab, vec.idf_.astype(np.float32), np.stack(coef), np.asarray(intercept, dtype=np.float32), ngram_range)

    def features(self, texts: list[str]):
        counts = self._counter.transform(texts)
        counts.data = np.log(counts.data) + 1.0  # sublinear tf, as TfidfVectorizer(sublinear_tf=True)
        return normalize(counts.multiply(self.idf).tocsr())

    def predict_proba(self, texts: list[str], batch_size: int = 512, progress=None) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            chunk = texts[start:start + batch_size]
            logits = self.features(chunk) @ self.coef.T + self.intercept
            out.append(1.0 / (1.0 + np.exp(-np.asarray(logits))))
            if progress is not None:
                progress(len(chunk))
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, len(self.intercept)), np.float32)

    def save(self, directory: Path, labels: list[str]) -> None:
        (directory / "tfidf.json").write_text(json.dumps(
            {"analyzer": "char_wb", "ngram_range": list(self.ngram_range), "labels": labels,
             "vocabulary": self.vocabulary}, ensure_ascii=False), encoding="utf-8")
        save_file({"idf": self.idf, "coef": self.coef, "intercept": self.intercept}, str(directory / "tfidf.safetensors"))

    @classmethod
    def load(cls, directory: Path):
        try:
            meta = json.loads((directory / "tfidf.json").read_text(encoding="utf-8"))
            arrays = load_file(str(directory / "tfidf.safetensors"))
            return cls(meta["vocabulary"], arrays["idf"], arrays["coef"], arrays["intercept"], meta["ngram_range"])
        except Exception as err:  # any failure here means a damaged model directory
            raise FramingError(Errors.E304, path=directory, problem=f"{type(err).__name__}: {str(err)[:200]}") from None
