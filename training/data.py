"""Labelled records: loading, schema checks and the hashes that every model records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framing.errors import Errors, FramingError
from framing.labels import LABELS

REQUIRED = ("id", "doc", "text", "labels", "lang", "origin", "source", "license")


@dataclass
class Record:
    id: str
    doc: str
    text: str
    labels: list[str]
    lang: str
    origin: str


def data_files(paths: list[str | Path], root: Path | None = None) -> list[Path]:
    """JSONL files named directly or found in folders; relative paths resolve from ``root``."""
    files: list[Path] = []
    for item in paths:
        p = Path(item)
        if not p.is_absolute() and root is not None and not p.exists():
            p = root / p
        if p.is_dir():
            files += sorted(p.glob("*.jsonl"))
        elif p.is_file():
            files.append(p)
        else:
            raise FramingError(Errors.E107, path=item)
    return files


def read_records(path: Path, labels=LABELS) -> list[Record]:
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise FramingError(Errors.E006, path=path, line=n, problem=err.msg) from None
        for key in REQUIRED:
            if key not in raw:
                raise FramingError(Errors.E201, path=path, line=n, field=key, required=", ".join(REQUIRED))
        for label in raw["labels"]:
            if label not in labels:
                raise FramingError(Errors.E202, path=path, line=n, label=label, known=", ".join(labels))
        records.append(Record(raw["id"], raw["doc"], raw["text"], list(raw["labels"]), raw["lang"], raw["origin"]))
    return records


def load_split(paths, labels=LABELS, langs=None, root: Path | None = None) -> tuple[list[Record], dict[str, str]]:
    """Records of a split (optionally only some languages) and {file: sha256} of its files."""
    files = data_files(paths, root)
    records, hashes = [], {}
    for f in files:
        records += read_records(f, labels)
        hashes[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    if langs is not None:
        records = [r for r in records if r.lang in langs]
    if not records:
        raise FramingError(Errors.E203, path=", ".join(map(str, paths)))
    return records, hashes


def label_matrix(records: list[Record], labels) -> np.ndarray:
    """Multi-hot matrix (n_records, n_labels) in the given label order."""
    index = {label: i for i, label in enumerate(labels)}
    y = np.zeros((len(records), len(labels)), dtype=np.float32)
    for row, r in enumerate(records):
        for label in r.labels:
            y[row, index[label]] = 1.0
    return y
