"""Training configuration: dataclasses with one docstring per field, loaded from YAML
with a strict schema (unknown keys and wrong types are refused, naming key and file)
and dotted command-line overrides (``--train.epochs 2``)."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from framing.errors import Errors, FramingError
from framing.labels import LABELS, check_labels


@dataclass
class DataConfig:
    train: list[str] = field(default_factory=lambda: ["data/train"])
    """JSONL files or folders of training records (see data/README.md)."""
    dev: list[str] = field(default_factory=lambda: ["data/dev"])
    """Dev records, split from train by document: early stopping and threshold tuning."""
    langs: list[str] = field(default_factory=lambda: ["ko"])
    """Record languages to train on; add "en" to use the English originals as extra examples."""
    stream_dev: list[str] = field(default_factory=list)
    """Dev records at an ordinary news stream's base rate (whole articles, every sentence
    labelled). When given, the model also gets a 'stream' operating point: per label the
    threshold with the best F1 expected at the stream's base rate (recall from every dev
    positive, false alarms from every dev negative, base rate from these records), and a
    'balanced' one: the best `dev` macro F1 among thresholds that flag at most 3% of dev's
    frame-free sentences and make at most 5 false alarms per 1,000 stream-dev sentences."""
    default_point: Literal["dense", "stream", "balanced"] = "dense"
    """Operating point the model uses unless told otherwise: 'dense' (thresholds with the best
    F1 on `dev`), 'stream' or 'balanced' (both need `stream_dev`)."""


@dataclass
class ModelConfig:
    kind: Literal["transformer", "tfidf"] = "transformer"
    """'transformer' (encoder + linear head) or 'tfidf' (the classical baseline)."""
    base: str = "builtin:multilingual-e5-small"
    """Encoder: a Hugging Face model id, a local path, or builtin:multilingual-e5-small (offline)."""
    max_length: int = 128
    """Tokens per sentence; longer sentences are truncated in training (with a warning) and
    scored with overlapping windows at inference."""
    dropout: float = 0.1
    """Dropout before the linear head."""
    attention: Literal["eager", "sdpa"] = "eager"
    """Attention kernel, in training and scoring. On 2 CPU cores at sentence lengths (30-60
    tokens) 'eager' trained 15% faster than PyTorch's fused 'sdpa' (dropout 0) and scores as fast."""
    attention_dropout: float = 0.0
    """Dropout on attention probabilities while fine-tuning. With dropout, both kernels keep
    extra fp32 copies of every attention map for the backward pass: 0 cut peak training memory
    by 0.3 GB and time by 15% (e5-small, 150 steps of the default config)."""
    layers: int = 0
    """Keep only the encoder's first N transformer layers (0: all); the dropped top layers are
    never loaded. Less than proportional savings (embeddings, pooling and tokenising remain):
    10 of e5-small's 12 layers scored 10-20% faster on 2 cores."""
    freeze_layers: int = 0
    """Freeze the embeddings and the encoder's first N layers, compute their outputs once per
    training sentence, and train only the layers above them (0: train every layer). Each step
    then runs only the top layers, forward and backward: the lever on CPUs without native bf16."""
    freeze_embeddings: bool = True
    """Freeze the word embeddings (96M of e5-small's 118M weights): 2-3x faster on CPU and
    keeps multilingual alignment for words the training data never shows."""
    text_prefix: str = "query: "
    """Prefix e5 was trained with; empty for other encoders."""
    ngram_min: int = 1
    """tfidf: smallest character n-gram."""
    ngram_max: int = 4
    """tfidf: largest character n-gram."""
    max_features: int = 200000
    """tfidf: vocabulary size cap."""
    C: float = 4.0
    """tfidf: inverse regularisation strength of the logistic regressions."""
    ngram_weight: Union[float, Literal["auto"]] = 0.0
    """transformer: weight of a character n-gram TF-IDF model (the tfidf settings above),
    trained on the same data and stored inside the model directory, in the averaged
    probabilities (0: none). 'auto' picks it on dev from 0, 0.1, ..., 0.7."""


@dataclass
class TrainConfig:
    epochs: int = 4
    """Passes over the training data (early stopping may end sooner)."""
    batch_size: int = 16
    """Sentences per optimisation step."""
    max_tokens_per_pass: int = 512
    """A batch wider than this many padded tokens is run in several forward/backward passes
    whose gradients add up to the whole batch's: the update is unchanged, but activation memory
    is capped (peak RSS 2.05 -> 1.75 GB over 150 steps at 512 vs 1024). 0 = one pass per batch."""
    lr: float = 5e-5
    """Learning rate of the encoder."""
    head_lr: float = 1e-3
    """Learning rate of the freshly initialised linear head."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup_ratio: float = 0.1
    """Share of steps with a linear learning-rate warm-up."""
    pos_weight: Union[str, dict[str, float]] = "auto"
    """BCE positive weight per label: 'auto' (sqrt of neg/pos, capped at 10), 'none', or a
    mapping label -> weight."""
    patience: int = 2
    """Stop after this many evaluations without a better dev macro F1."""
    evals_per_epoch: int = 2
    """Dev evaluations per epoch (each one may save the best weights)."""
    bf16: bool = True
    """Use bf16 autocast on CPU where supported (about 2x faster)."""
    threads: int = 0
    """torch threads; 0 uses all cores."""


@dataclass
class Config:
    name: str = "e5-small"
    """Run name, shown in the model card."""
    output: str = "runs/e5-small"
    """Model directory written at the end (atomically)."""
    seed: int = 13
    """Seeds Python, NumPy and torch; same seed and data give the same model."""
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    """Label order of the model; must match the data's labels."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin is Union:
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, dict):
        return f"{origin.__name__} of {', '.join(_type_name(a) for a in typing.get_args(tp))}"
    return getattr(tp, "__name__", str(tp))


def _matches(value, tp) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return value in args
    if origin is Union:
        return any(_matches(value, a) for a in args)
    if origin is list:
        return isinstance(value, list) and all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _build(cls, raw: dict, path, prefix: str = ""):
    if not isinstance(raw, dict):
        raise FramingError(Errors.E103, path=path, key=prefix.rstrip(".") or "(top level)", expected="a mapping", got=raw)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            raise FramingError(Errors.E102, path=path, key=prefix + str(key), valid=", ".join(names))
    values = {}
    for name, value in raw.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = _build(tp, value, path, f"{prefix}{name}.")
            continue
        if tp is float and isinstance(value, str):  # YAML reads 5e-5 as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if not _matches(value, tp):
            raise FramingError(Errors.E103, path=path, key=prefix + name, expected=_type_name(tp), got=value)
        values[name] = value
    return cls(**values)


def _parse_override(key: str, text: str):
    """Override values are YAML scalars: '2' -> 2, 'true' -> True, '[ko, en]' -> list."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise FramingError(Errors.E106, override=f"{key} {text}") from None


def apply_overrides(raw: dict, overrides: dict[str, str]) -> dict:
    for dotted, text in overrides.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise FramingError(Errors.E106, override=dotted)
        node[leaf] = _parse_override(dotted, text)
    return raw


def load_config(path: str | Path, overrides: dict[str, str] | None = None) -> Config:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FramingError(Errors.E107, path=path) from None
    except yaml.YAMLError as err:
        raise FramingError(Errors.E101, path=path, problem=str(err).replace("\n", " ")) from None
    raw = apply_overrides(raw, overrides or {})
    config = _build(Config, raw, path)
    check_labels(config.labels, path)
    if isinstance(config.train.pos_weight, dict):
        check_labels(config.train.pos_weight, path)
    elif config.train.pos_weight not in ("auto", "none"):
        raise FramingError(Errors.E103, path=path, key="train.pos_weight", expected="'auto', 'none' or a mapping", got=config.train.pos_weight)
    if config.data.default_point != "dense" and not config.data.stream_dev:
        raise FramingError(Errors.E104, path=path, key=f"data.stream_dev (data.default_point is '{config.data.default_point}')")
    weight = config.model.ngram_weight
    if weight != "auto" and not 0 <= weight <= 1:
        raise FramingError(Errors.E103, path=path, key="model.ngram_weight", expected="'auto' or a number in [0, 1]", got=weight)
    return config


def parse_cli_overrides(args: list[str]) -> dict[str, str]:
    """['--train.epochs', '2', '--model.base=x'] -> {'train.epochs': '2', 'model.base': 'x'}."""
    out, i = {}, 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or arg == "--":
            raise FramingError(Errors.E106, override=arg)
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
            i += 1
        elif i + 1 < len(args):
            key, value = arg[2:], args[i + 1]
            i += 2
        else:
            raise FramingError(Errors.E106, override=arg)
        out[key] = value
    return out
