"""The one JSON shape of scoring results, and of the API's requests.

A sentence record is the same everywhere: a line of `framing score --format jsonl`, an item of
``documents[].sentences`` in the API's answer and in :func:`score`'s result from Python, so one
parser (``SentenceResult.model_validate``) reads all three:

    {"document", "index", "start", "end", "text", "probs": {label: p}, "labels": [label, ...]}

``start``/``end`` are character offsets into the document's normalised text (``DocumentResult.text``)."""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, StrictStr, TypeAdapter, model_validator

from framing.model.framer import Framer, ScoredDocument

Thresholds = dict[str, Annotated[float, Field(ge=0.0, le=1.0)]]
THRESHOLDS = TypeAdapter(Thresholds)


class SentenceResult(BaseModel):
    document: str = Field(description="The document's id (file name, 'path:id' for JSONL records, or the request's id).")
    index: int = Field(description="0-based position of the sentence in its document.")
    start: int = Field(description="Character offset of the sentence in the document's normalised text.")
    end: int
    text: str
    probs: dict[str, float] = Field(description="Probability of every label, 4 decimals.")
    labels: list[str] = Field(description="Labels whose probability reaches their threshold.")


class ProfileEntry(BaseModel):
    count: int = Field(description="Sentences that carry the frame.")
    share: float = Field(description="count / sentences in the document.")


class DocumentResult(BaseModel):
    id: str
    text: str = Field(description="The normalised text the offsets refer to.")
    sentences: list[SentenceResult]
    profile: dict[str, ProfileEntry] = Field(description="Per frame: sentences carrying it and their share.")


class ScoreResult(BaseModel):
    model: str = Field(description="The model directory's name.")
    labels: list[str]
    thresholds: dict[str, float] = Field(description="The thresholds that decided the labels (model's, with overrides).")
    documents: list[DocumentResult]


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Optional[StrictStr] = Field(None, max_length=200, description="Your id; default: its position, '1', '2', ...")
    text: StrictStr


class ScoreRequest(BaseModel):
    """Either ``text`` (one article) or ``documents`` (several), optional per-label thresholds."""
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"text": "무장 테러리스트들이 공항을 공격했다. 형제 국가들은 굳건한 연대를 보여줬다."},
        {"documents": [{"id": "a1", "text": "파병은 조약에 따른 합법적 조치다."}], "thresholds": {"terrorism": 0.4}}]})
    text: Optional[StrictStr] = None
    documents: Optional[list[DocumentIn]] = Field(None, min_length=1)
    thresholds: Thresholds = Field(default_factory=dict, description="label -> threshold in [0, 1]; the model's own for the rest.")

    @model_validator(mode="after")
    def _one_input(self):
        if (self.text is None) == (self.documents is None):
            raise ValueError("give exactly one of 'text' or 'documents'")
        return self

    def named_texts(self) -> list[tuple[str, str]]:
        if self.text is not None:
            return [("text", self.text)]
        return [(d.id if d.id is not None else str(i), d.text) for i, d in enumerate(self.documents, start=1)]


class ModelInfo(BaseModel):
    model: str
    kind: str
    labels: list[str]
    thresholds: dict[str, float]
    metadata: dict = Field(description="From the model's framing.json: config name, base encoder, data counts, dev metrics, "
                                       "creation time, code revision, library versions.")
    card: str = Field(description="The model card (README.md of the model directory), Markdown.")


class ErrorBody(BaseModel):
    code: str = Field(description="A code of framing/errors.py, e.g. E501.")
    message: str


def sentence_results(doc: ScoredDocument) -> list[SentenceResult]:
    return [SentenceResult(document=doc.name, index=s.index, start=s.start, end=s.end, text=s.text, probs=s.probs,
                           labels=s.labels) for s in doc.sentences]


def document_result(doc: ScoredDocument) -> DocumentResult:
    return DocumentResult(id=doc.name, text=doc.text, sentences=sentence_results(doc), profile=doc.profile())


def score_result(framer: Framer, docs: list[ScoredDocument], thresholds: dict[str, float] | None = None) -> ScoreResult:
    name = framer.path.name if framer.path else "model"
    return ScoreResult(model=name, labels=framer.labels, thresholds={**framer.thresholds, **(thresholds or {})},
                       documents=[document_result(d) for d in docs])


def score(framer: Framer, text: str | list[tuple[str, str]], thresholds: dict[str, float] | None = None) -> ScoreResult:
    """From Python: score one text or (id, text) pairs; ``.model_dump()`` is the API's JSON."""
    docs = [("text", text)] if isinstance(text, str) else text
    return score_result(framer, framer.score_documents(docs, thresholds), thresholds)


def model_info(framer: Framer) -> ModelInfo:
    meta = framer.meta
    cfg = meta.get("config", {})
    keep = {"name": cfg.get("name"), "base": cfg.get("model", {}).get("base"), "created": meta.get("created"),
            "code_revision": meta.get("code_revision"), "versions": meta.get("versions"),
            "data": {split: {k: v for k, v in meta.get("data", {}).get(split, {}).items() if k != "files"}
                     for split in ("train", "dev")},
            "dev_metrics": meta.get("dev_metrics")}
    card = framer.path / "README.md" if framer.path else None
    return ModelInfo(model=framer.path.name if framer.path else "model", kind=meta["kind"], labels=framer.labels,
                     thresholds=framer.thresholds, metadata=keep,
                     card=card.read_text(encoding="utf-8") if card and card.exists() else "")
