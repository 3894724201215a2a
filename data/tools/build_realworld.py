"""Assemble the real-register splits from the annotation files.

    python data/tools/build_realworld.py

- data/realworld/{train,dev,test}/paraphrased.jsonl: sentences paraphrased from Korean news
  pages (data/annotation/realworld/, brief in data/annotation/REALWORLD_BRIEF.md). The batches
  were written per split with disjoint event lists (test events: ids t-*, dev: d-*, train: r-*),
  so the test split is split by event as well as by article. Test and dev labels are the
  adjudicated result of two blind passes (pass2_*.jsonl, adjudication_*.jsonl).
- data/stream/{train,dev,test}/wikinews.jsonl: every sentence of the 322 Korean Wikinews
  articles, split by article (data/annotation/wikinews/split.json); test labels are the
  adjudicated result of two blind passes, train/dev labels one pass.
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).resolve().parents[1]
ANN = DATA / "annotation"
RW_LICENSE = "paraphrase of a public news page (facts only, own wording; cited by URL)"
WIKINEWS_LICENSE = "CC BY 2.5 (Korean Wikinews, ko.wikinews.org; attribute the article URL)"
RW_SPLITS = {"test": ["test_a", "test_b", "test_c"], "dev": ["dev", "dev_b", "dev_c"],
             "train": ["train_a", "train_b", "train_c", "train_d", "train_e", "train_f", "train_g"]}
EVENT_PREFIX = {"test": "t-", "dev": "d-", "train": "r-"}
# Articles written twice by different batches (the same page, or the same wire story on two
# sites): the copy outside the more valuable split is left out, so no article sits in two
# splits (test > dev > train) or twice in one.
DROPPED = {
    "rw-rwdev-a36": "same page as test rw-rwtest-a-a28",
    "rw-rwdev-a38": "same page as test rw-rwtest-b-a27",
    "rw-dev_b-a32": "same Yonhap story (zoglo.net reprint) as train rw-rwtrain-a-a46",
    **{doc: f"same page as train {first}" for doc, first in (
        ("rw-rwtrain-b-a18", "rw-rwtrain-a-a52"), ("rw-rwtrain-b-a19", "rw-rwtrain-a-a26"),
        ("rw-rwtrain-b-a20", "rw-rwtrain-a-a09"), ("rw-rwtrain-b-a22", "rw-rwtrain-a-a11"),
        ("rw-rwtrain-b-a23", "rw-rwtrain-a-a95"), ("rw-rwtrain-b-a41", "rw-rwtrain-a-a15"),
        ("rw-rwtrain-b-a62", "rw-rwtrain-a-a50"))},
    # train_g and dev_c were written at the same time and met on four episodes: dev keeps them.
    **{doc: f"same event as dev {event}" for doc, event in (
        ("rw-train_g-a03", "d-china-central-asia-summit-2023"), ("rw-train_g-a13", "d-china-ned-report-2024"),
        ("rw-train_g-a14", "d-china-ned-taiwan-2022"), ("rw-train_g-a15", "d-china-ned-taiwan-2022"),
        ("rw-train_g-a43", "d-other-bolivia-coup-attempt-2024"))},
}


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []


def final_labels(first: list[dict], second: dict[str, dict], adjudicated: dict[str, dict]) -> list[dict]:
    """First-pass records with the adjudicated labels where the blind second pass disagreed."""
    out = []
    for r in first:
        r = dict(r)
        other = second.get(r["id"])
        if other is not None:
            r["second_annotator"] = other["annotator"]
            if set(other["labels"]) != set(r["labels"]):
                if r["id"] not in adjudicated:
                    raise SystemExit(f"{r['id']}: passes disagree and there is no adjudication")
                r["labels"] = adjudicated[r["id"]]["labels"]
                r["adjudicated"] = True
        out.append(r)
    return out


def write(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def realworld() -> None:
    second = {r["id"]: r for f in sorted((ANN / "realworld").glob("pass2_*.jsonl")) for r in read(f)}
    adjudicated = {r["id"]: r for f in sorted((ANN / "realworld").glob("adjudication_*.jsonl")) for r in read(f)}
    seen_docs: set[str] = set()
    url_doc: dict[str, str] = {}
    for split, batches in RW_SPLITS.items():
        records = [r for b in batches for r in read(ANN / "realworld" / f"{b}.jsonl") if r["doc"] not in DROPPED]
        for r in records:
            event = r["source"]["event"]
            assert event.startswith(EVENT_PREFIX[split]) or (split == "train" and not event[:2] in ("t-", "d-")), (split, r["id"], event)
            r.setdefault("lang", "ko")
            r["source"] = {"corpus": "korean_news_paraphrased", **r["source"]}
            r["license"] = RW_LICENSE
            first = url_doc.setdefault(r["source"]["url"], r["doc"])
            assert first == r["doc"], f"{r['doc']} ({split}) uses the page of {first}: add one of them to DROPPED"
        if split in ("test", "dev"):
            records = final_labels(records, second, adjudicated)
            unchecked = [r["id"] for r in records if "second_annotator" not in r]
            assert not unchecked, f"{split} sentences without a blind second pass: {unchecked[:3]}"
        docs = {r["doc"] for r in records}
        assert not docs & seen_docs, f"{split}: documents already in another split"
        seen_docs |= docs
        write(DATA / "realworld" / split / "paraphrased.jsonl", records)


def stream() -> None:
    split = json.loads((ANN / "wikinews" / "split.json").read_text())
    sentences = read(ANN / "wikinews" / "sentences.jsonl")
    first = {r["id"]: r for name in ("pass1_test", "pass1_rest") for r in read(ANN / "wikinews" / f"{name}.jsonl")}
    second = {r["id"]: r for r in read(ANN / "wikinews" / "pass2_test.jsonl")}
    adjudicated = {r["id"]: r for r in read(ANN / "wikinews" / "adjudication.jsonl")}
    records = [{"id": s["id"], "doc": s["doc"], "text": s["text"], "labels": first[s["id"]]["labels"], "lang": "ko",
                "origin": "real", "source": s["source"], "license": WIKINEWS_LICENSE,
                "annotator": first[s["id"]]["annotator"]} for s in sentences]
    for name in ("test", "dev", "train"):
        part = [r for r in records if split[r["doc"]] == name]
        if name == "test":
            part = final_labels(part, second, adjudicated)
        write(DATA / "stream" / name / "wikinews.jsonl", part)


def robustness() -> None:
    """Keep the robustness pairs (data/robustness/pairs.jsonl, built from realworld test
    sentences) in step with the adjudicated test labels: an invariant pair's two texts share
    the source's final labels; a flip pair whose source lost the label it flips is dropped."""
    final = {r["id"]: r["labels"] for r in read(DATA / "realworld" / "test" / "paraphrased.jsonl")}
    path = DATA / "robustness" / "pairs.jsonl"
    kept, dropped = [], []
    for pair in read(path):
        labels = final[pair["a"]["from"]]
        if pair["expect"] == "flip" and pair["label"] not in labels:
            dropped.append(pair["id"])
            continue
        pair["a"]["labels"] = labels
        if pair["expect"] == "same":
            pair["b"]["labels"] = labels
        kept.append(pair)
    write(path, kept)
    print(f"robustness: {len(kept)} pairs kept, dropped {dropped}")


if __name__ == "__main__":
    realworld()
    stream()
    robustness()
