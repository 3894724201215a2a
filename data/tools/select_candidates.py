"""Pick candidate sentences from the real corpora in ../shared/corpora for annotation.

Keyword and tag hits only *choose candidates* (so every frame is well covered) and random
draws supply negatives; labels are assigned later by annotators reading each sentence
against data/GUIDELINES.md. Output: data/annotation/batches/*.jsonl, one record per
sentence with its provenance. Deterministic (fixed seed), so the batches can be rebuilt.

    python data/tools/select_candidates.py --shared ../shared
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections import defaultdict
from pathlib import Path

KREMLIN_LICENSE = "CC BY 4.0 (kremlin.ru)"
EUVS_LICENSE = "EUvsDisinfo: reuse with source acknowledged (EUvsDisinfo, EEAS East StratCom Task Force)"

# Candidate pickers per frame (English originals). They never assign a label.
HINTS = {
    "external_interference": r"interfer|meddl|internal affairs|sovereign|foreign agent|external force|from abroad|funded|financ\w+ by|instigat|puppet|orchestrat|destabili",
    "color_revolution": r"colou?r revolution|maidan|coup|regime change|unconstitutional|orange revolution|overthrow|seiz\w+ power",
    "terrorism": r"terror|militant|extremis|insurgen|gang|bandit|\bisis\b|islamic state|nusra|jihad|daesh",
    "legitimacy": r"legitim|international law|un charter|at the request|lawful|illegal|in accordance with|mandate|resolution|rigged|self-defen|justif",
    "solidarity": r"brother|fraternal|solidarity|unity|mutual trust|mutual assistance|strategic partnership|stand together|\ball(y|ies)\b|joint exercise|shoulder|support each other|friendship",
}
EUVS_TAGS = {"Coup", "Euromaidan", "Terrorism", "Daesh", "Protest", "Destabilising Russia", "Puppets",
             "Secret services", "Elections", "NGO", "George Soros", "Sovereignty", "Colour revolutions",
             "Ukrainian statehood", "CIA", "Foreign mercenaries", "Referendum", "Democracy"}
SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")


def kremlin_rows(shared: Path) -> dict[str, list[dict]]:
    """Deduplicated Kremlin sentences grouped by transcript (source_doc_id), in corpus order."""
    docs: dict[str, list[dict]] = defaultdict(list)
    seen = set()
    for f in sorted((shared / "corpora/kremlin_en").glob("*.csv")):
        with f.open(encoding="utf-8") as fh:
            for row_no, r in enumerate(csv.DictReader(fh), start=2):
                key = (r["source_doc_id"], r["sentence"].strip())
                if key in seen:  # a sentence naming two countries sits in two files
                    continue
                seen.add(key)
                docs[r["source_doc_id"]].append({
                    "original_text": r["sentence"].strip(),
                    "source": {"corpus": "kremlin_en", "file": f.name, "row": row_no,
                               "doc_id": r["source_doc_id"], "date": r["date"][:10]},
                })
    return docs


def euvs_cases(shared: Path) -> list[dict]:
    """EUvsDisinfo cases: title + summary sentences (the paraphrased claim) per case."""
    cases = []
    with (shared / "corpora/euvsdisinfo/cases_2015_2017.csv").open(encoding="utf-8") as fh:
        for row_no, r in enumerate(csv.DictReader(fh), start=2):
            sents = [r["title"].strip()] + [s.strip() for s in SENT_END.split(r["summary"]) if s.strip()]
            tags = {k.strip() for k in r["keywords"].split(",")}
            cases.append({"doc_id": f"case-{row_no}", "tags": tags, "sentences": [
                {"original_text": s, "source": {"corpus": "euvsdisinfo_cases", "file": "cases_2015_2017.csv",
                                                "row": row_no, "doc_id": f"case-{row_no}", "date": r["date"],
                                                "outlet": r["outlet"], "field": "title" if i == 0 else "summary"}}
                for i, s in enumerate(sents) if 20 <= len(s) <= 400]})
    return cases


def hint_hits(text: str) -> list[str]:
    return [k for k, pat in HINTS.items() if re.search(pat, text, re.I)]


def record(prefix: str, doc: str, i: int, s: dict, license_: str) -> dict:
    return {"id": f"{prefix}-{doc}-{i:03d}", "doc": f"{prefix}-{doc}", "original_text": s["original_text"],
            "original_lang": "en", "source": s["source"], "license": license_,
            "candidate_hints": hint_hits(s["original_text"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--out", type=Path, default=Path("data/annotation/batches"))
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)

    kdocs = kremlin_rows(args.shared)
    # Gold: whole transcripts (every corpus row of the doc), 12-40 sentences, rich in hints.
    def richness(rows):
        return len({h for r in rows for h in hint_hits(r["original_text"])}) + sum(bool(hint_hits(r["original_text"])) for r in rows) / len(rows)
    def hint_count(rows, frame):
        return sum(frame in hint_hits(r["original_text"]) for r in rows)
    sized = [d for d, rows in kdocs.items() if 12 <= len(rows) <= 40]
    sized.sort(key=lambda d: (-richness(kdocs[d]), d))
    gold_kdocs = sized[:4]
    # The colour-revolution frame is the rarest: add the transcripts that carry it most.
    sized.sort(key=lambda d: (-hint_count(kdocs[d], "color_revolution"), d))
    gold_kdocs += [d for d in sized if d not in gold_kdocs][:4]
    for frame, n in (("solidarity", 2), ("legitimacy", 1)):  # the next-thinnest frames in gold
        sized.sort(key=lambda d: (-hint_count(kdocs[d], frame), d))
        gold_kdocs += [d for d in sized if d not in gold_kdocs][:n]

    cases = euvs_cases(args.shared)
    tagged = [c for c in cases if c["tags"] & EUVS_TAGS and len(c["sentences"]) >= 2]
    rng.shuffle(tagged)
    # Gold cases: a fixed mix of coup/Maidan, terrorism and other tagged cases.
    coup = [c for c in tagged if c["tags"] & {"Coup", "Euromaidan"}][:9]
    terror = [c for c in tagged if c["tags"] & {"Terrorism", "Daesh"} and c not in coup][:5]
    rest = [c for c in tagged if c not in coup and c not in terror][:6]
    gold_cases = coup + terror + rest
    tagged = [c for c in tagged if c not in gold_cases]
    gold_case_ids = {c["doc_id"] for c in gold_cases}

    gold = [record("kremlin", d, i, s, KREMLIN_LICENSE) for d in gold_kdocs for i, s in enumerate(kdocs[d])]
    gold += [record("euvs", c["doc_id"], i, s, EUVS_LICENSE) for c in gold_cases for i, s in enumerate(c["sentences"])]

    # Train/dev pool: other transcripts. Up to 2 hint sentences per transcript per frame so
    # no single speech dominates, then random sentences as negatives.
    pool = []
    by_frame = defaultdict(list)
    other = []
    for d, rows in kdocs.items():
        if d in gold_kdocs:
            continue
        taken = defaultdict(int)
        for i, s in enumerate(rows):
            hits = hint_hits(s["original_text"])
            rec = record("kremlin", d, i, s, KREMLIN_LICENSE)
            if hits and all(taken[h] < 2 for h in hits):
                for h in hits:
                    taken[h] += 1
                by_frame[hits[0]].append(rec)
            else:
                other.append(rec)
    caps = {"external_interference": 230, "color_revolution": 200, "terrorism": 200, "legitimacy": 230, "solidarity": 230}
    for frame, recs in by_frame.items():
        rng.shuffle(recs)
        pool += recs[:caps[frame]]
    rng.shuffle(other)
    pool += other[:380]

    rest_cases = tagged[:260] + rng.sample([c for c in cases if c["doc_id"] not in gold_case_ids and c not in tagged], 60)
    for c in rest_cases:
        pool += [record("euvs", c["doc_id"], i, s, EUVS_LICENSE) for i, s in enumerate(c["sentences"][:3])]

    # Keep documents together inside a batch so translators see context.
    pool.sort(key=lambda r: (r["doc"], r["id"]))
    docs_in_order = list(dict.fromkeys(r["doc"] for r in pool))
    rng.shuffle(docs_in_order)
    order = {d: i for i, d in enumerate(docs_in_order)}
    pool.sort(key=lambda r: (order[r["doc"]], r["id"]))

    def write(name, recs):
        with (args.out / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{name}: {len(recs)} sentences, {len({r['doc'] for r in recs})} docs")

    write("gold_translate", gold)
    n_batches = 7
    size = -(-len(pool) // n_batches)
    start = 0
    for b in range(n_batches):
        end = min(len(pool), start + size)
        while 0 < end < len(pool) and pool[end]["doc"] == pool[end - 1]["doc"]:
            end += 1  # never cut a document between batches
        write(f"train_translate_{b + 1}", pool[start:end])
        start = end

    # Batch 8 (added when train fell short of 3,000 Korean sentences): leftovers of the
    # thinnest frames' candidate lists plus random negatives. A new sentence of a transcript
    # already used lands in that transcript's split (splits are by document).
    extra = []
    for frame, n in (("color_revolution", 70), ("solidarity", 70), ("legitimacy", 40), ("external_interference", 30)):
        extra += by_frame[frame][caps[frame]:][:n]
    extra += other[380:540]
    extra.sort(key=lambda r: (r["doc"], r["id"]))
    write("train_translate_8", extra)


if __name__ == "__main__":
    main()
