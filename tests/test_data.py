"""The labelled corpus: schema, splits by document, no leakage into gold, the sizes the data
issue asks for, and a data card whose counts match the files."""

import json
import sys
from collections import Counter

import pytest
from conftest import ROOT, SEED

from framing.labels import LABELS
from framing.model.splitter import split_sentences

sys.path.insert(0, str(ROOT / "data" / "tools"))
import datacard  # noqa: E402
from build_splits import norm, shingles  # noqa: E402

REQUIRED = ("id", "doc", "text", "labels", "lang", "origin", "source", "license", "annotator")


def load(split):
    return [json.loads(line) for f in sorted((ROOT / "data" / split).glob("*.jsonl"))
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def splits():
    return {s: load(s) for s in ("train", "dev", "gold")}


def korean(recs):
    return [r for r in recs if r["lang"] == "ko"]


def test_every_record_validates(splits):
    ids = Counter()
    for split, recs in splits.items():
        for r in recs:
            missing = [k for k in REQUIRED if k not in r]
            assert not missing, (split, r.get("id"), missing)
            assert r["origin"] in ("real", "translated", "authored") and r["lang"] in ("ko", "en")
            assert set(r["labels"]) <= set(LABELS) and len(set(r["labels"])) == len(r["labels"])
            assert r["text"].strip() and r["license"] and r["source"].get("corpus")
            if r["origin"] == "translated":
                assert r["original_text"] and r["original_lang"] == "en" and r["translator"]
            ids[r["id"]] += 1
    assert max(ids.values()) == 1


def test_documents_sit_in_one_split(splits):
    docs = {s: {r["doc"] for r in recs} for s, recs in splits.items()}
    assert not docs["train"] & docs["dev"] and not docs["train"] & docs["gold"] and not docs["dev"] & docs["gold"]


def test_no_duplicate_or_near_duplicate_crosses_splits(splits):
    for keep, other in (("gold", "train"), ("gold", "dev"), ("dev", "train")):
        index = [(shingles(r["text"]), norm(r["text"])) for r in korean(splits[keep])]
        for r in korean(splits[other]):
            sh, nt = shingles(r["text"]), norm(r["text"])
            for s2, n2 in index:
                if abs(len(n2) - len(nt)) <= 0.25 * max(len(nt), 1) + 4:
                    assert nt != n2 and len(sh & s2) / max(1, len(sh | s2)) < 0.8, (other, r["id"], keep)


def test_gold_set(splits):
    gold = splits["gold"]
    assert all(r["lang"] == "ko" for r in gold) and len(gold) >= 400
    for label in LABELS:
        assert sum(label in r["labels"] for r in gold) >= 30, label
    assert sum(not r["labels"] for r in gold) / len(gold) >= 0.35
    seed = [r["text"] for r in sorted(gold, key=lambda r: r["id"]) if r["doc"].startswith("seed-")]
    assert seed == [s.text for s in split_sentences(SEED.read_text(encoding="utf-8"))]
    assert len({r["doc"] for r in gold if not r["doc"].startswith("seed-")}) >= 14
    corpora = Counter(r["source"]["corpus"] for r in gold)
    assert {"kremlin_en", "euvsdisinfo_cases", "korean_news_park", "seed"} <= set(corpora)


def test_train_and_dev_sizes(splits):
    train, dev = korean(splits["train"]), korean(splits["dev"])
    assert len(train) >= 3000 and len(dev) >= 400
    for label in LABELS:
        assert sum(label in r["labels"] for r in train) >= 150, label
    assert sum(r["origin"] == "authored" for r in train) / len(train) <= 0.25
    assert sum(r["origin"] == "translated" for r in train + dev) >= 1500
    park = [r for s in splits.values() for r in s if r["source"]["corpus"] == "korean_news_park" and r["lang"] == "ko"]
    assert len(park) == 1000 and len({r["source"]["line"] for r in park}) == 1000


def test_data_card_counts_match_files():
    assert datacard.render(datacard.compute()) == datacard.current_section(), \
        "data/README.md is stale: run `python data/tools/datacard.py`"


def test_corpus_loads_as_a_hugging_face_dataset(tmp_path):
    """The card's YAML header declares the splits and features: `load_dataset("data")` works."""
    import datasets

    assert datacard.render_header() == datacard.current_header(), \
        "data/README.md's YAML header is stale: run `python data/tools/datacard.py`"
    ds = datasets.load_dataset(str(ROOT / "data"), cache_dir=str(tmp_path / "cache"))
    counts = datacard.compute()
    assert {split: ds[split].num_rows for split in ds} == {split: counts[split]["sentences"] for split in datacard.SPLITS}
    gold = ds["gold"]
    assert gold.features["text"] == datasets.Value("string") and gold.features["source"]["line"] == datasets.Value("int64")
    first = json.loads((ROOT / "data" / "gold" / sorted(p.name for p in (ROOT / "data" / "gold").glob("*.jsonl"))[0])
                       .read_text(encoding="utf-8").splitlines()[0])
    assert gold[0]["id"] == first["id"] and gold[0]["labels"] == first["labels"]
    assert datacard.feature([{"a": 1}, {"b": [True]}, None]) == \
        {"struct": [{"name": "a", "dtype": "int64"}, {"name": "b", "sequence": "bool"}]}
