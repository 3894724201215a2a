"""Inter-annotator agreement between the first pass and the blind second pass.

    python data/tools/agreement.py            # prints Cohen's kappa per label (Markdown)
    python data/tools/agreement.py --disagreements data/annotation/disagreements.jsonl
    python data/tools/agreement.py --set realworld   # or --set realworld-dev, --set stream

Pass 1: data/annotation/labelled/*.jsonl; pass 2: data/annotation/blind/pass2_*.jsonl.
Kappa is computed per label over the sentences both passes labelled."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from framing.labels import LABELS

ANN = Path(__file__).resolve().parents[1] / "annotation"


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


PASSES = {  # set: (first-pass files, blind second-pass files), globs under data/annotation/
    "gold": ("labelled/*.jsonl", "blind/pass2_*.jsonl"),
    "realworld": ("realworld/test_?.jsonl", "realworld/pass2_test*.jsonl"),
    "realworld-dev": ("realworld/dev*.jsonl", "realworld/pass2_dev*.jsonl"),
    "stream": ("wikinews/pass1_test.jsonl", "wikinews/pass2_test.jsonl"),
}


def passes(name: str = "gold") -> tuple[dict[str, dict], dict[str, dict]]:
    first_glob, second_glob = PASSES[name]
    first = {r["id"]: r for f in sorted(ANN.glob(first_glob)) for r in read(f)}
    second = {r["id"]: r for f in sorted(ANN.glob(second_glob)) for r in read(f)}
    return first, second


def kappa_table(first: dict, second: dict) -> tuple[str, dict]:
    ids = [i for i in second if i in first]
    rows, stats = [], {}
    for label in LABELS:
        a = [label in first[i]["labels"] for i in ids]
        b = [label in second[i]["labels"] for i in ids]
        k = cohen_kappa_score(a, b) if any(a) or any(b) else float("nan")
        agree = sum(x == y for x, y in zip(a, b)) / len(ids)
        stats[label] = {"kappa": round(k, 3), "agreement": round(agree, 3), "pass1_pos": sum(a), "pass2_pos": sum(b)}
        rows.append(f"| `{label}` | {sum(a)} | {sum(b)} | {agree:.3f} | {k:.3f} |")
    head = (f"Double-annotated sentences: {len(ids)}\n\n| label | pass 1 positives | pass 2 positives | "
            "raw agreement | Cohen's kappa |\n|---|---:|---:|---:|---:|")
    return head + "\n" + "\n".join(rows), stats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--disagreements", type=Path)
    ap.add_argument("--set", default="gold", choices=sorted(PASSES), help="which double-annotated set")
    args = ap.parse_args()
    first, second = passes(args.set)
    table, _ = kappa_table(first, second)
    print(table)
    if args.disagreements:
        with args.disagreements.open("w", encoding="utf-8") as fh:
            for i, r2 in second.items():
                r1 = first[i]
                if set(r1["labels"]) != set(r2["labels"]):
                    fh.write(json.dumps({"id": i, "doc": r1["doc"], "text": r1["text"], "pass1": r1["labels"],
                                         "pass1_note": r1.get("note"), "pass2": r2["labels"], "pass2_note": r2.get("note")},
                                        ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
