"""Evaluate models on every held-out set side by side (eval/suites.yaml): per-label P/R/F1 with
tp/fp/fn, micro and macro averages, exact match, the stream figures that decide trust on an
ordinary news feed (frame-free sentences flagged, false alarms per 1,000 sentences), the
flip rates of the robustness pairs, and a CI gate on floors per set (eval/floors.yaml).

None of these sets trains, tunes or chooses anything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from framing.errors import Errors, FramingError
from framing.eval.metrics import score, stream_figures
from framing.labels import LABELS
from framing.model.framer import Framer
from framing.training.data import label_matrix, load_split

SUITES_FILE = Path(__file__).with_name("suites.yaml")
INVARIANT = "same"  # robustness pairs whose decision must not change; "flip" pairs must change it


@dataclass
class Suite:
    name: str
    paths: list[str]
    kind: str = "sentences"  # or "pairs" (robustness)
    operating_point: str | None = None  # a named threshold set of the model; None: its default
    about: str = ""
    optional: bool = False  # skipped when its files are absent


def load_suites(path: str | Path = SUITES_FILE, names: list[str] | None = None) -> list[Suite]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        suites = [Suite(name=name, **spec) for name, spec in raw.items()]
    except (OSError, yaml.YAMLError, TypeError, AttributeError) as err:
        raise FramingError(Errors.E402, path=path, problem=str(err).splitlines()[0]) from None
    if names:
        unknown = sorted(set(names) - {s.name for s in suites})
        if unknown:
            raise FramingError(Errors.E403, name=unknown[0], path=path, known=", ".join(s.name for s in suites))
        suites = [s for s in suites if s.name in names]
    return suites


def evaluate(model_dir: str | Path, gold: list[str], framer: Framer | None = None,
             operating_point: str | None = None) -> dict:
    framer = framer or Framer.load(model_dir)  # refuses a model whose labels differ from LABELS
    thresholds = framer.operating_point(operating_point, strict=False)
    records, hashes = load_split(gold, LABELS)
    probs = framer.predict_proba([r.text for r in records])
    pred = framer.decide(probs, thresholds)
    y = label_matrix(records, LABELS)
    report = score(y, pred, LABELS)
    report.update(stream_figures(y, pred))
    report["by_origin"] = {}
    for origin in sorted({r.origin for r in records}):
        rows = np.array([r.origin == origin for r in records])
        part = score(y[rows], pred[rows], LABELS)
        report["by_origin"][origin] = {"n_sentences": part["n_sentences"], "micro_f1": part["micro"]["f1"],
                                       "macro_f1": part["macro"]["f1"]}
    report.update(model=str(model_dir), kind=framer.meta["kind"], name=framer.meta["config"]["name"],
                  operating_point=operating_point if operating_point in framer.operating_points else "default",
                  thresholds=thresholds, gold_files=hashes, n_docs=len({r.doc for r in records}))
    return report


def read_pairs(paths: list[str]) -> list[dict]:
    from framing.training.data import data_files

    pairs = []
    for f in data_files(paths):
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                pair = json.loads(line)
                assert pair["expect"] in (INVARIANT, "flip") and pair["a"]["text"] and pair["b"]["text"]
                assert pair["expect"] == INVARIANT or pair["label"] in LABELS
            except (json.JSONDecodeError, KeyError, TypeError, AssertionError):
                raise FramingError(Errors.E404, path=f, line=n) from None
            pairs.append(pair)
    if not pairs:
        raise FramingError(Errors.E203, path=", ".join(map(str, paths)))
    return pairs


def evaluate_pairs(model_dir: str | Path, paths: list[str], framer: Framer | None = None,
                   operating_point: str | None = None) -> dict:
    """Robustness pairs (CheckList-style): an invariant pair flips when the model's label set
    differs between its two texts; a directional pair (a frame word in another sense) fails
    when the decision on its label does not change (which a missed frame in the first text also
    causes); ``other_sense_flagged`` counts only the second text still carrying the label."""
    framer = framer or Framer.load(model_dir)
    thresholds = framer.operating_point(operating_point, strict=False)
    pairs = read_pairs(paths)
    probs = framer.predict_proba([p[side]["text"] for p in pairs for side in ("a", "b")])
    pred = framer.decide(probs, thresholds).reshape(len(pairs), 2, len(framer.labels))
    kinds: dict[str, dict] = {}
    for pair, (a, b) in zip(pairs, pred):
        if pair["expect"] == INVARIANT:
            failed = bool((a != b).any())
        else:
            j = framer.labels.index(pair["label"])
            failed = bool(a[j] == b[j])
        k = kinds.setdefault(pair["kind"], {"expect": pair["expect"], "pairs": 0, "failed": 0, "failed_ids": [], "other_sense_flagged": 0})
        k["pairs"] += 1
        k["failed"] += failed
        if pair["expect"] != INVARIANT:  # the frame word in its other sense still carries the label
            k["other_sense_flagged"] += bool(b[framer.labels.index(pair["label"])])
        if failed:
            k["failed_ids"].append(pair["id"])
    for k in kinds.values():
        k["rate"] = k["failed"] / k["pairs"]
    same = [k for k in kinds.values() if k["expect"] == INVARIANT]
    flip = [k for k in kinds.values() if k["expect"] != INVARIANT]
    total = lambda ks: sum(k["failed"] for k in ks) / max(1, sum(k["pairs"] for k in ks))  # noqa: E731
    other = sum(k["other_sense_flagged"] for k in flip) / max(1, sum(k["pairs"] for k in flip))
    return {"kinds": kinds, "flip_rate": total(same), "missed_flip_rate": total(flip), "other_sense_flagged": other, "n_pairs": len(pairs),
            "model": str(model_dir), "kind": framer.meta["kind"], "name": framer.meta["config"]["name"],
            "operating_point": operating_point if operating_point in framer.operating_points else "default"}


def evaluate_suites(models: list[str | Path], suites: list[Suite], operating_point: str | None = None) -> dict[str, list[dict]]:
    """{suite name: [one report per model]}; an optional suite whose files are absent is skipped.
    ``operating_point`` replaces every suite's own (and must exist in every model)."""
    framers = [Framer.load(m) for m in models]
    for f in framers:
        f.operating_point(operating_point)  # refuses an unknown name before any scoring
    out = {}
    for suite in suites:
        if suite.optional and not all(Path(p).exists() for p in suite.paths):
            continue
        run = evaluate_pairs if suite.kind == "pairs" else evaluate
        out[suite.name] = [run(m, suite.paths, f, operating_point or suite.operating_point) for m, f in zip(models, framers)]
    return out


def _names(reports: list[dict]) -> list[str]:
    return [f"{r['name']} ({r['kind']}, {r['operating_point']} thresholds)" for r in reports]


def to_markdown(reports: list[dict], title: str = "Gold set") -> str:
    """One table, the models side by side (P / R / F1 per model), tp/fp/fn of the first."""
    names = _names(reports)
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
    stream = "; ".join(f"{n}: {r['frame_free_flagged']:.1%} of frame-free sentences flagged, "
                       f"{r['false_alarms_per_1000']:.1f} false alarms per 1,000 sentences" for n, r in zip(names, reports))
    r0 = reports[0]
    return (f"{title}: {r0['n_sentences']} sentences, {r0['n_docs']} documents, "
            f"{r0['framed_share']:.1%} framed.\n\n" + "\n".join([head, sep, *rows])
            + f"\n\nExact match: {exact}.\n\nStream figures: {stream}.\n")


def pairs_markdown(reports: list[dict], title: str = "Robustness") -> str:
    names = _names(reports)
    head = "| change | must | pairs | " + " | ".join(f"{n} failed" for n in names) + " |"
    sep = "|---|---|---:|" + "---:|" * len(reports)
    rows = [f"| {kind} | {'keep' if k['expect'] == INVARIANT else 'flip'} | {k['pairs']} | "
            + " | ".join(f"{r['kinds'][kind]['rate']:.1%} ({r['kinds'][kind]['failed']})" for r in reports) + " |"
            for kind, k in reports[0]["kinds"].items()]
    totals = "; ".join(f"{n}: flip rate {r['flip_rate']:.1%}, missed flips {r['missed_flip_rate']:.1%} "
                       f"(other sense still flagged: {r['other_sense_flagged']:.1%})" for n, r in zip(names, reports))
    return f"{title}: {reports[0]['n_pairs']} pairs.\n\n" + "\n".join([head, sep, *rows]) + f"\n\n{totals}.\n"


def suites_markdown(results: dict[str, list[dict]]) -> str:
    parts = []
    for name, reports in results.items():
        render = pairs_markdown if "kinds" in reports[0] else to_markdown
        parts.append(f"## {name}\n\n" + render(reports, name))
    return "\n".join(parts)


def load_floors(path: str | Path) -> dict[str, dict[str, float]]:
    """{suite: {metric: floor}}; a metric named max_<metric> is a ceiling."""
    try:
        floors = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise FramingError(Errors.E401, path=path, problem=str(err).splitlines()[0]) from None
    if not isinstance(floors, dict) or not all(
            isinstance(v, dict) and all(isinstance(x, (int, float)) for x in v.values()) for v in floors.values()):
        raise FramingError(Errors.E401, path=path, problem="expected a mapping set -> {metric: number}")
    known = set(LABELS) | {"micro", "macro", "micro_precision", "micro_recall", "false_alarms_per_1000",
                           "frame_free_flagged", "flip_rate", "missed_flip_rate", "other_sense_flagged"}
    for suite, metrics in floors.items():
        unknown = {m.removeprefix("max_") for m in metrics} - known
        if unknown:
            raise FramingError(Errors.E401, path=path, problem=f"unknown metric(s) {sorted(unknown)} under '{suite}'")
    return {s: {k: float(v) for k, v in m.items()} for s, m in floors.items()}


def metric(report: dict, name: str) -> float:
    if name in LABELS:
        return report["labels"][name]["f1"]
    if name in ("micro", "macro"):
        return report[name]["f1"]
    if name.startswith("micro_"):
        return report["micro"][name.removeprefix("micro_")]
    return report[name]


def gate(results: dict[str, dict], floors: dict[str, dict[str, float]]) -> list[str]:
    """Every set and metric beyond its floor (or ceiling); a set named in the floors but not
    evaluated fails too, so a missing file cannot pass the gate silently."""
    failures = []
    for suite, metrics in floors.items():
        if suite not in results:
            failures.append(f"{suite}: not evaluated (its files are missing)")
            continue
        for key, bound in metrics.items():
            value = metric(results[suite], key.removeprefix("max_"))
            if key.startswith("max_") and value > bound:
                failures.append(f"{suite} {key.removeprefix('max_')}: {value:.3f} > ceiling {bound:.3f}")
            elif not key.startswith("max_") and value < bound:
                failures.append(f"{suite} {key}: {value:.3f} < floor {bound:.3f}")
    return failures


def write_reports(results: dict[str, list[dict]], json_path: Path | None, md_path: Path | None) -> None:
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    if md_path:
        md_path.write_text(suites_markdown(results), encoding="utf-8")
