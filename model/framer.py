"""A trained model directory and the scoring API on top of it.

    from framing.model.framer import Framer
    framer = Framer.load("runs/e5-small")
    for s in framer.score_text("푸틴은 …라고 말했다. …"):
        print(s.text, s.labels, s.probs)

A model directory describes itself in ``framing.json``: kind, label order, thresholds,
resolved config, data hashes, dev metrics and library versions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from framing.errors import Errors, FramingError
from framing.labels import LABELS, check_same_labels
from framing.model.splitter import split_sentences

FORMAT = "framing-model/1"
META_FILE = "framing.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".joblib", ".ckpt")
FILES = {"transformer": ("config.json", "model.safetensors", "head.safetensors", "tokenizer.json"),
         "tfidf": ("tfidf.json", "tfidf.safetensors")}


@dataclass
class SentenceScore:
    index: int
    start: int
    end: int
    text: str
    probs: dict[str, float]
    labels: list[str] = field(default_factory=list)


@dataclass
class SplitDocument:
    name: str
    text: str
    sentences: list  # splitter.Sentence: text with start/end offsets into ``text``


@dataclass
class ScoredDocument:
    name: str
    sentences: list[SentenceScore]
    text: str = ""  # the scored text, so renderers can keep its paragraphs

    def profile(self) -> dict[str, dict]:
        """Per frame: how many sentences carry it and their share of the article."""
        n = max(1, len(self.sentences))
        counts = {label: sum(label in s.labels for s in self.sentences) for label in LABELS}
        return {label: {"count": c, "share": round(c / n, 3)} for label, c in counts.items()}


def split_document(name: str, text: str) -> SplitDocument:
    return SplitDocument(name, text, split_sentences(text))


def read_meta(directory: Path) -> dict:
    """Validate a model directory (files present, no pickle) and return its framing.json."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FramingError(Errors.E301, path=directory, missing="the directory itself")
    pickles = sorted(p.name for p in directory.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise FramingError(Errors.E303, path=directory, file=pickles[0])
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FramingError(Errors.E301, path=directory, missing=META_FILE) from None
    except json.JSONDecodeError as err:
        raise FramingError(Errors.E304, path=directory / META_FILE, problem=str(err)) from None
    if meta.get("format") != FORMAT or meta.get("kind") not in FILES:
        raise FramingError(Errors.E301, path=directory, missing=f"a {FORMAT} {META_FILE}")
    needed = list(FILES[meta["kind"]])
    if meta.get("ngram_weight", 0) > 0:
        from framing.model.blend import NGRAM_DIR

        needed += [f"{NGRAM_DIR}/{f}" for f in FILES["tfidf"]]
    missing = [f for f in needed if not (directory / f).exists()]
    if missing:
        raise FramingError(Errors.E301, path=directory, missing=", ".join(missing))
    return meta


class Framer:
    def __init__(self, backend, labels: list[str], thresholds: dict[str, float], meta: dict, path: Path | None = None):
        self.backend, self.labels, self.thresholds, self.meta, self.path = backend, labels, thresholds, meta, path

    @classmethod
    def load(cls, directory: str | Path, bf16: bool | None = None, expected_labels=LABELS, device: str = "cpu",
             operating_point: str | None = None) -> "Framer":
        """Load a model directory on ``device`` (auto, cpu or cuda; bf16 on CUDA unless ``bf16``
        says otherwise); refuse one whose label order differs from ``expected_labels`` (the
        project schema) unless that is None. ``operating_point`` picks a named threshold set."""
        directory = Path(directory)
        meta = read_meta(directory)
        labels = list(meta["labels"])
        if expected_labels is not None:
            check_same_labels(labels, expected_labels, directory, "the project schema")
        if meta["kind"] == "tfidf":
            from framing.model.baseline import TfidfLabeller

            backend = TfidfLabeller.load(directory)
        else:
            from framing.model.classifier import TransformerLabeller, resolve_device

            model_cfg, device = meta["config"]["model"], resolve_device(device)
            use_bf16 = (meta["config"]["train"]["bf16"] or device == "cuda") if bf16 is None else bf16
            backend = TransformerLabeller.load(directory, len(labels), model_cfg["max_length"],
                                               model_cfg["text_prefix"], use_bf16, model_cfg.get("attention"), device)
            if meta.get("ngram_weight", 0) > 0:
                from framing.model.baseline import TfidfLabeller
                from framing.model.blend import NGRAM_DIR, Blend

                backend = Blend(backend, TfidfLabeller.load(directory / NGRAM_DIR), meta["ngram_weight"])
        framer = cls(backend, labels, {k: float(v) for k, v in meta["thresholds"].items()}, meta, directory)
        if operating_point:
            framer.thresholds = framer.operating_point(operating_point)
        return framer

    @property
    def operating_points(self) -> dict[str, dict[str, float]]:
        """Named threshold sets: 'dense' (best F1 on dev, where frames are common) and, for models
        trained with a stream dev set, 'stream' (an ordinary news feed's base rate)."""
        return self.meta.get("operating_points", {})

    def operating_point(self, name: str | None, strict: bool = True) -> dict[str, float]:
        """Thresholds of a named operating point; None or 'default' gives the model's default.
        With strict=False an unknown name falls back to the default (older models have none)."""
        if name in (None, "default") or (name not in self.operating_points and not strict):
            return dict(self.thresholds)
        if name not in self.operating_points:
            raise FramingError(Errors.E312, path=self.path, name=name,
                               known=", ".join(["default", *self.operating_points]))
        return {k: float(v) for k, v in self.operating_points[name].items()}

    def predict_proba(self, sentences: list[str], batch_size: int = 32, progress=None) -> np.ndarray:
        if not sentences:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self.backend.predict_proba(sentences, batch_size=batch_size, progress=progress)

    def decide(self, probs: np.ndarray, thresholds: dict[str, float] | None = None) -> np.ndarray:
        t = {**self.thresholds, **(thresholds or {})}
        return probs >= np.array([t[label] for label in self.labels])

    def score_sentences(self, sentences, probs: np.ndarray, thresholds=None) -> list[SentenceScore]:
        decided = self.decide(probs, thresholds)
        return [SentenceScore(i, s.start, s.end, s.text,
                              {label: round(float(p), 4) for label, p in zip(self.labels, probs[i])},
                              [label for label, on in zip(self.labels, decided[i]) if on])
                for i, s in enumerate(sentences)]

    def assemble(self, docs: list[SplitDocument], probs: np.ndarray, thresholds=None) -> list[ScoredDocument]:
        """Label split documents from the probabilities of all their sentences, in order."""
        scored, offset = [], 0
        for d in docs:
            n = len(d.sentences)
            scored.append(ScoredDocument(d.name, self.score_sentences(d.sentences, probs[offset:offset + n], thresholds), d.text))
            offset += n
        return scored

    def score_documents(self, docs: list[tuple[str, str]], thresholds: dict[str, float] | None = None,
                        batch_size: int = 32) -> list[ScoredDocument]:
        """Score (name, text) pairs; their sentences share batches."""
        split = [split_document(name, text) for name, text in docs]
        probs = self.predict_proba([s.text for d in split for s in d.sentences], batch_size=batch_size)
        return self.assemble(split, probs, thresholds)

    def score_text(self, text: str, thresholds: dict[str, float] | None = None, batch_size: int = 32) -> list[SentenceScore]:
        """Split ``text`` into sentences and label each one."""
        sentences = split_sentences(text)
        probs = self.predict_proba([s.text for s in sentences], batch_size=batch_size)
        return self.score_sentences(sentences, probs, thresholds)
