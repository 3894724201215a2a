"""Evaluate models on the hand-labelled gold set: per-label P/R/F1 with tp/fp/fn, micro and
macro averages, exact match; a second model side by side; and a CI gate on per-label F1
floors (eval/floors.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from framing.errors import Errors, FramingError
from framing.eval.metrics import score
from framing.labels import LABELS
from framing.model.framer import Framer
from framing.training.data import label_matrix, load_split


def evaluate(model_dir: str | Path, gold: list[str], framer: Framer | None = None) -> dict:
    framer = framer or Framer.load(model_dir)  # refuses a model whose labels differ from LABELS
    records, hashes = load_split(gold, LABELS)
    probs = framer.predict_proba([r.text for r in records])
    pred = framer.decide(probs)
    y = label_matrix(records, LABELS)
    report = score(y, pred, LABELS)
    report["by_origin"] = {}
    for origin in sorted({r.origin for r in records}):
        rows = np.array([r.origin == origin for r in records])
        part = score(y[rows], pred[rows], LABELS)
        report["by_origin"][origin] = {"n_sentences": part["n_sentences"], "micro_f1": part["micro"]["f1"],
                                       "macro_f1": part["macro"]["f1"]}
    report.update(model=str(model_dir), kind=framer.meta["kind"], name=framer.meta["config"]["name"],
                  thresholds=framer.thresholds, gold_files=hashes, n_docs=len({r.doc for r in records}))
    return report


def to_markdown(reports: list[dict]) -> str:
    """One table, the models side by side (P / R / F1 per model), tp/fp/fn of the first."""
    names = [f"{r['name']} ({r['kind']})" for r in reports]
    head = "| label | support | " + " | ".join(f"{n} P | R | F1" for n in names) + " | tp/fp/fn (first) |"
    sep = "|---|---:|" + "---:|---:|---:|" * len(reports) + "---|"
    rows = []
    for label in LABELS:
        first = reports[0]["labels"][label]
        cells = " | ".join(f"{r['labels'][label]['precision']:.3f} | {r['labels'][label]['recall']:.3f} | "
                           f"**{r['labels'][label]['f1']:.3f}**" for r in reports)
        rows.append(f"| `{label}` | {first['support']} | {cells} | {first['tp']}/{first['fp']}/{first['fn']} |")
    for avg in ("micro", "macro"):
        cells = " | ".join(f"{r[avg]['precision']:.3f} | {r[avg]['recall']:.3f} | **{r[avg]['f1']:.3f}**" for r in reports)
        rows.append(f"| *{avg}* | | {cells} | |")
    exact = ", ".join(f"{n}: {r['exact_match']:.3f}" for n, r in zip(names, reports))
    r0 = reports[0]
    return (f"Gold set: {r0['n_sentences']} sentences, {r0['n_docs']} documents.\n\n" + "\n".join([head, sep, *rows])
            + f"\n\nExact match: {exact}.\n")


def load_floors(path: str | Path) -> dict[str, float]:
    try:
        floors = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise FramingError(Errors.E401, path=path, problem=str(err).splitlines()[0]) from None
    if not isinstance(floors, dict) or not all(isinstance(v, (int, float)) for v in floors.values()):
        raise FramingError(Errors.E401, path=path, problem="expected a mapping label -> number")
    unknown = set(floors) - set(LABELS) - {"micro", "macro"}
    if unknown:
        raise FramingError(Errors.E401, path=path, problem=f"unknown label(s) {sorted(unknown)}")
    return {k: float(v) for k, v in floors.items()}


def gate(report: dict, floors: dict[str, float]) -> list[str]:
    """Names and figures of every label (or average) whose F1 fell below its floor."""
    failures = []
    for key, floor in floors.items():
        f1 = report[key]["f1"] if key in ("micro", "macro") else report["labels"][key]["f1"]
        if f1 < floor:
            failures.append(f"{key}: F1 {f1:.3f} < floor {floor:.3f}")
    return failures


def write_reports(reports: list[dict], json_path: Path | None, md_path: Path | None) -> None:
    if json_path:
        json_path.write_text(json.dumps(reports if len(reports) > 1 else reports[0], indent=2, ensure_ascii=False), encoding="utf-8")
    if md_path:
        md_path.write_text(to_markdown(reports), encoding="utf-8")
