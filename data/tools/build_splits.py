"""Assemble data/train, data/dev and data/gold from the annotation files.

    python data/tools/build_splits.py

Inputs: data/annotation/labelled/*.jsonl (first pass: translations and labels),
data/annotation/authored/*.jsonl (authored articles), data/annotation/adjudication.jsonl
(final labels where two passes disagreed). Splits are by document: the seed, the gold
Kremlin/EUvsDisinfo documents and a block of the park corpus form the gold set; every
other document goes to dev (15%, by a hash of its id) or train. Train/dev sentences
that duplicate or nearly duplicate a sentence in another split are dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

from framing.labels import LABELS

DATA = Path(__file__).resolve().parents[1]
ANN = DATA / "annotation"
GOLD_PARK_LINES = range(451, 571)  # a contiguous block of real Korean news
FIELDS = ("id", "doc", "text", "labels", "lang", "origin", "source", "license", "original_text",
          "original_lang", "translator", "annotator", "adjudicated", "rechecked", "rendering", "rendering_of", "writer",
          "label_checker")


def norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def shingles(text: str, n: int = 4) -> set[str]:
    t = norm(text)
    return {t[i:i + n] for i in range(max(1, len(t) - n + 1))}


def dev_doc(doc: str) -> bool:
    return int(hashlib.sha256(doc.encode()).hexdigest(), 16) % 100 < 15


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_gold(r: dict) -> bool:
    src = r["source"]
    return (r["doc"].startswith("seed-") or r["id"] in GOLD_TRANSLATED
            or (src.get("corpus") == "korean_news_park" and src["line"] in GOLD_PARK_LINES))


GOLD_TRANSLATED = {r["id"] for name in ("gold_translate_a", "gold_translate_b")
                   for r in read(ANN / "batches" / f"{name}.jsonl")}


def write_renderings(path: Path, train: list[dict]) -> None:
    """Alternative renderings of the translated training sentences in other registers
    (data/annotation/renderings/). A rendering keeps its source sentence's final labels only
    where a second reader, labelling the rendering blind (blind_labels.jsonl), gave the same
    labels; the others are left out (a rendering that may have shifted the frame)."""
    renderings, blind = ANN / "renderings" / "renderings.jsonl", ANN / "renderings" / "blind_labels.jsonl"
    if not renderings.exists() or not blind.exists():
        return
    checks = {c["id"]: c for c in read(blind)}
    source = {r["id"]: r for r in train if r["origin"] == "translated"}
    kept = Counter()
    with path.open("w", encoding="utf-8") as fh:
        for x in read(renderings):
            r, check = source.get(x["source_id"]), checks.get(x["id"])
            ok = r is not None and check is not None and set(check["labels"]) == set(r["labels"])
            kept[ok] += 1
            if ok:
                row = {**{k: r[k] for k in FIELDS if k in r}, "id": x["id"], "text": x["text"], "origin": "rendered",
                       "rendering": x["register"], "rendering_of": r["id"], "writer": x["writer"],
                       "label_checker": check["annotator"]}
                fh.write(json.dumps({k: row[k] for k in FIELDS if k in row}, ensure_ascii=False) + "\n")
    print(f"renderings: {kept[True]} kept, {kept[False]} left out (blind check disagreed or source not in train)")


def main() -> None:
    records = []
    for f in sorted((ANN / "labelled").glob("*.jsonl")) + sorted((ANN / "authored").glob("*.jsonl")):
        records += read(f)
    adjudicated = {r["id"]: r for r in read(ANN / "adjudication.jsonl")} if (ANN / "adjudication.jsonl").exists() else {}
    # Labels re-checked against rulings 11-17 (added after the first labelling).
    rechecked = {r["id"]: r for r in read(ANN / "recheck_rulings_11_17.jsonl")} if (ANN / "recheck_rulings_11_17.jsonl").exists() else {}
    for r in records:
        r.setdefault("lang", "ko")
        if r["id"] in adjudicated:
            r["labels"] = adjudicated[r["id"]]["final"]
            r["adjudicated"] = True
        if r["id"] in rechecked:
            r["labels"] = rechecked[r["id"]]["labels"]
            r["rechecked"] = f"ruling {rechecked[r['id']]['ruling']}"
        r["labels"] = sorted(set(r["labels"]), key=LABELS.index)

    splits = {"gold": [], "dev": [], "train": []}
    for r in records:
        splits["gold" if is_gold(r) else "dev" if dev_doc(r["doc"]) else "train"].append(r)

    # Drop train/dev sentences that (nearly) duplicate a gold sentence, then dev vs train.
    dropped = Counter()
    for keep, other in (("gold", "dev"), ("gold", "train"), ("dev", "train")):
        index = [(shingles(r["text"]), norm(r["text"])) for r in splits[keep]]
        kept = []
        for r in splits[other]:
            sh, nt = shingles(r["text"]), norm(r["text"])
            if any(nt == n2 or len(sh & s2) / max(1, len(sh | s2)) >= 0.8 for s2, n2 in index
                   if abs(len(n2) - len(nt)) <= 0.25 * max(len(nt), 1) + 4):
                dropped[f"{other} (near-)duplicate of {keep}"] += 1
            else:
                kept.append(r)
        splits[other] = kept

    for name, recs in splits.items():
        out = DATA / name
        out.mkdir(exist_ok=True)
        for old in out.glob("*.jsonl"):
            old.unlink()
        by_origin: dict[str, list[dict]] = {}
        for r in recs:
            by_origin.setdefault(r["origin"], []).append(r)
        for origin, rows in by_origin.items():
            with (out / f"{origin}.jsonl").open("w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps({k: r[k] for k in FIELDS if k in r}, ensure_ascii=False) + "\n")
        # The English originals of translated sentences, as optional extra training examples.
        if name == "train":
            with (out / "english_originals.jsonl").open("w", encoding="utf-8") as fh:
                for r in recs:
                    if r["origin"] == "translated" and r.get("original_lang") == "en":
                        fh.write(json.dumps({**{k: r[k] for k in FIELDS if k in r}, "id": r["id"] + "-en", "text": r["original_text"],
                                             "lang": "en", "origin": "real", "original_text": r["text"], "original_lang": "ko"},
                                            ensure_ascii=False) + "\n")
        if name == "train":
            write_renderings(out / "rendered.jsonl", recs)
        print(name, len(recs), dict(Counter(l for r in recs for l in r["labels"])))
    print("dropped", dict(dropped))


if __name__ == "__main__":
    main()
