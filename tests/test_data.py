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
            assert r["origin"] in ("real", "translated", "authored", "rendered") and r["lang"] in ("ko", "en")
            assert set(r["labels"]) <= set(LABELS) and len(set(r["labels"])) == len(r["labels"])
            assert r["text"].strip() and r["license"] and r["source"].get("corpus")
            if r["origin"] == "translated":
                assert r["original_text"] and r["original_lang"] == "en" and r["translator"]
            if r["origin"] == "rendered":  # a re-rendering of a translated training sentence, labels checked blind
                assert split == "train" and r["rendering_of"] and r["writer"] and r["label_checker"]
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
    rendered = {r["rendering_of"] for r in train if r["origin"] == "rendered"}
    assert len(rendered) >= 0.8 * sum(r["origin"] == "translated" for r in train)
    park = [r for s in splits.values() for r in s if r["source"]["corpus"] == "korean_news_park" and r["lang"] == "ko"]
    assert len(park) == 1000 and len({r["source"]["line"] for r in park}) == 1000


def test_data_card_counts_match_files():
    assert datacard.render(datacard.compute()) == datacard.current_section(), \
        "data/README.md is stale: run `python data/tools/datacard.py`"


# ---------- real-register and stream splits (issues 8 and 11) ----------

REAL_SPLITS = ("realworld/train", "realworld/dev", "realworld/test", "stream/train", "stream/dev", "stream/test")


@pytest.fixture(scope="module")
def real():
    return {s: load(s) for s in REAL_SPLITS}


def test_real_records_carry_their_provenance(real):
    for split, recs in real.items():
        assert recs, split
        for r in recs:
            missing = [k for k in REQUIRED if k not in r]
            assert not missing and r["lang"] == "ko" and set(r["labels"]) <= set(LABELS), (split, r.get("id"), missing)
            if split.startswith("realworld"):
                assert r["origin"] == "paraphrased" and r["writer"]
                assert all(r["source"].get(k) for k in ("url", "outlet", "date", "event")), r["id"]
            else:
                assert r["origin"] == "real" and r["source"]["url"].startswith("https://ko.wikinews.org/")
            if split.endswith("test"):
                assert r["second_annotator"] != r["annotator"], r["id"]  # two blind passes


def test_real_splits_are_by_document_and_test_by_event(real, splits):
    docs = {s: {r["doc"] for r in recs} for s, recs in {**splits, **real}.items()}
    names = list(docs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not docs[a] & docs[b], (a, b)
    events = {s: {r["source"]["event"] for r in real[s]} for s in ("realworld/train", "realworld/dev", "realworld/test")}
    assert not events["realworld/test"] & (events["realworld/train"] | events["realworld/dev"])
    assert not events["realworld/dev"] & events["realworld/train"]
    page_doc = {}  # one page, one document: no article twice, in one split or across splits
    for recs in real.values():
        for r in recs:
            url = r["source"].get("url")
            if url:
                assert page_doc.setdefault(url, r["doc"]) == r["doc"], (url, r["doc"], page_doc[url])


def test_no_reserved_page_is_used():
    from reserved import reserved_hashes, reserved_in_tree

    hashes = reserved_hashes()
    if not hashes:
        pytest.skip("../shared/reserved-urls.sha256 is not beside this checkout")
    assert reserved_in_tree(ROOT / "data", hashes) == []


def test_realworld_and_stream_sizes(real):
    test, dev, train = real["realworld/test"], real["realworld/dev"], real["realworld/train"]
    assert len(test) >= 600 and len({r["doc"] for r in test}) >= 40
    assert len({r["source"]["outlet"] for r in test}) >= 12 and len({r["source"]["event"] for r in test}) >= 15
    for label in LABELS:
        assert sum(label in r["labels"] for r in test) >= 40, label
    assert sum(not r["labels"] for r in test) / len(test) >= 0.35
    assert len(dev) >= 300 and len(train) >= 1500 and len({r["doc"] for r in train}) >= 100
    stream = real["stream/test"]
    assert len(stream) >= 1500 and len({r["doc"] for r in stream}) >= 150
    assert sum(bool(r["labels"]) for r in stream) / len(stream) < 0.05  # a natural base rate


def test_robustness_pairs(real):
    pairs = [json.loads(line) for line in (ROOT / "data" / "robustness" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    test = {r["id"]: r for r in real["realworld/test"]}
    assert len(pairs) >= 300 and len({p["id"] for p in pairs}) == len(pairs)
    kinds = Counter(p["kind"] for p in pairs)
    assert {"synonym", "spacing", "quotes", "speech", "headline", "sense"} <= set(kinds)
    for p in pairs:
        source = test[p["a"]["from"]]  # built only from held-out test sentences
        assert p["a"]["text"] == source["text"] and p["a"]["labels"] == source["labels"] and p["b"]["text"] != p["a"]["text"]
        if p["expect"] == "same":
            assert p["b"]["labels"] == p["a"]["labels"]
        else:
            assert p["kind"] == "sense" and p["label"] in p["a"]["labels"] and p["label"] not in p["b"]["labels"]


def test_corpus_loads_as_a_hugging_face_dataset(tmp_path):
    """The card's YAML header declares the splits and features: `load_dataset("data")` works."""
    import datasets

    assert datacard.render_header() == datacard.current_header(), \
        "data/README.md's YAML header is stale: run `python data/tools/datacard.py`"
    counts = datacard.compute()
    for name, splits in datacard.CONFIGS.items():
        ds = datasets.load_dataset(str(ROOT / "data"), name, cache_dir=str(tmp_path / "cache"))
        assert {split: ds[split].num_rows for split in ds} == {split: counts[folder]["sentences"] for split, folder in splits.items()}
    assert datasets.load_dataset(str(ROOT / "data"), "realworld", cache_dir=str(tmp_path / "cache"))["test"].features["source"]["url"] == datasets.Value("string")
    ds = datasets.load_dataset(str(ROOT / "data"), cache_dir=str(tmp_path / "cache"))
    gold = ds["gold"]
    assert gold.features["text"] == datasets.Value("string") and gold.features["source"]["line"] == datasets.Value("int64")
    first = json.loads((ROOT / "data" / "gold" / sorted(p.name for p in (ROOT / "data" / "gold").glob("*.jsonl"))[0])
                       .read_text(encoding="utf-8").splitlines()[0])
    assert gold[0]["id"] == first["id"] and gold[0]["labels"] == first["labels"]
    assert datacard.feature([{"a": 1}, {"b": [True]}, None]) == \
        {"struct": [{"name": "a", "dtype": "int64"}, {"name": "b", "sequence": "bool"}]}
