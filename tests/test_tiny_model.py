"""Tiny-BERT tests: overfit, save/reload, batch vs single, long inputs, refused model dirs."""

import json
import shutil

import numpy as np
import pytest
from conftest import TINY

from framing.errors import FramingError
from framing.labels import LABELS as LABELS_ORDER
from framing.model.framer import Framer
from framing.training.config import load_config
from framing.training.train import train


def test_overfits_and_reloads_identically(tiny_config):
    cfg = load_config(tiny_config)
    out = train(cfg, quiet=True)
    framer = Framer.load(out)
    texts = [t for t, _ in TINY]
    probs = framer.predict_proba(texts)
    pred = framer.decide(probs)
    truth = np.array([[label in labels for label in framer.labels] for _, labels in TINY])
    assert (pred == truth).mean() > 0.95, probs.round(2)
    meta = json.loads((out / "framing.json").read_text())
    assert meta["labels"] == framer.labels and set(meta["thresholds"]) == set(framer.labels)
    assert meta["data"]["train"]["files"] and all(len(h) == 64 for h in meta["data"]["train"]["files"].values())
    assert meta["versions"]["torch"] and meta["config"]["seed"] == 7
    assert meta["dev_metrics"]["macro"]["f1"] > 0.9
    assert (out / "README.md").read_text().count("|") > 20  # model card with a metrics table
    again = Framer.load(out).predict_proba(texts)
    np.testing.assert_array_equal(probs, again)


def test_same_seed_same_model(tiny_config, tmp_path):
    first = train(load_config(tiny_config, {"train.epochs": "3", "output": str(tmp_path / "a")}), quiet=True)
    second = train(load_config(tiny_config, {"train.epochs": "3", "output": str(tmp_path / "b")}), quiet=True)
    meta = [json.loads((d / "framing.json").read_text()) for d in (first, second)]
    assert meta[0]["thresholds"] == meta[1]["thresholds"] and meta[0]["dev_metrics"] == meta[1]["dev_metrics"]
    texts = [t for t, _ in TINY]
    np.testing.assert_array_equal(Framer.load(first).predict_proba(texts), Framer.load(second).predict_proba(texts))


def test_batch_and_single_scoring_agree(trained_tiny):
    framer = Framer.load(trained_tiny)
    texts = [t for t, _ in TINY]
    batch = framer.predict_proba(texts, batch_size=5)
    single = np.concatenate([framer.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batch, single, atol=1e-5)


def test_passes_add_up_to_the_whole_batch(trained_tiny):
    """Cutting a batch into one-sentence passes (max_tokens_per_pass below any width) changes
    memory, not the update: the accumulated gradient is the whole batch's."""
    import torch

    from framing.training.train import backward_batch

    backend = Framer.load(trained_tiny).backend
    model = backend.model.eval()  # gradients still flow; dropout, whose masks depend on shapes, is off
    seqs, _ = backend.encode([t for t, _ in TINY[:6]], windows=False)
    y = torch.tensor([[float(i % 2), 1.0, 0.0, 0.0, float(i % 3 == 0)] for i in range(6)])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    grads = []
    for max_tokens in (0, 1):
        model.zero_grad(set_to_none=True)
        loss = backward_batch(model, loss_fn, seqs, y, 0, False, max_tokens)
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert loss > 0 and grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_long_sentence_is_scored_by_windows(trained_tiny):
    import torch

    framer = Framer.load(trained_tiny)
    filler, cue = "주가가 소폭 상승하며 장을 마감했다.", "무장 테러리스트들이 공항을 공격했다."
    long_text = " ".join([filler] * 60 + [cue])  # the cue sits far beyond max_length (32 tokens)
    ids, owner = framer.backend.encode([long_text], windows=True)
    assert len(ids) > 10 and set(owner) == {0} and max(map(len, ids)) <= 32
    cue_ids = framer.backend.tokenizer(cue, add_special_tokens=False)["input_ids"]
    assert ids[-1][-4:-1] == cue_ids[-3:]  # the last window reaches the end of the text (before [SEP])
    with torch.inference_mode():
        per_window = [torch.sigmoid(framer.backend.model(torch.tensor([w]), torch.ones(1, len(w), dtype=torch.long)))[0].numpy() for w in ids]
    [p_long] = framer.predict_proba([long_text])
    np.testing.assert_allclose(p_long, np.max(per_window, axis=0), atol=1e-5)  # max-pooled over windows


def test_score_text_offsets(trained_tiny):
    text = "서울의 오늘 날씨는 맑고 기온은 20도다. 무장 테러리스트들이 공항을 공격했다."
    scores = Framer.load(trained_tiny).score_text(text)
    assert len(scores) == 2 and all(text[s.start:s.end] == s.text for s in scores)
    assert "terrorism" in scores[1].labels and scores[0].labels == []


def _copy(trained_tiny, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(trained_tiny, d)
    return d


def test_other_label_set_is_refused(trained_tiny, tmp_path):
    d = _copy(trained_tiny, tmp_path)
    meta = json.loads((d / "framing.json").read_text())
    meta["labels"] = ["positive", "negative", "neutral", "mixed", "other"]
    (d / "framing.json").write_text(json.dumps(meta))
    with pytest.raises(FramingError) as err:
        Framer.load(d)
    assert err.value.code == "E302" and "positive" in str(err.value)


def test_pickle_is_refused_never_loaded(trained_tiny, tmp_path):
    d = _copy(trained_tiny, tmp_path)
    (d / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(FramingError) as err:
        Framer.load(d)
    assert err.value.code == "E303" and "pytorch_model.bin" in str(err.value)


@pytest.mark.parametrize("damage, code", [("missing", "E301"), ("corrupt", "E304"), ("nometa", "E301")])
def test_damaged_model_dirs(trained_tiny, tmp_path, damage, code):
    d = _copy(trained_tiny, tmp_path)
    if damage == "missing":
        (d / "head.safetensors").unlink()
    elif damage == "corrupt":
        (d / "model.safetensors").write_bytes(b"garbage" * 100)
    else:
        (d / "framing.json").unlink()
    with pytest.raises(FramingError) as err:
        Framer.load(d)
    assert err.value.code == code and str(d) in str(err.value)


def test_existing_output_needs_force(tiny_config, trained_tiny):
    cfg = load_config(tiny_config, {"output": str(trained_tiny)})
    with pytest.raises(FramingError) as err:
        train(cfg, quiet=True)
    assert err.value.code == "E305" and "--force" in str(err.value)


def test_failed_training_keeps_previous_model(tiny_config, trained_tiny, tmp_path, monkeypatch):
    """An interruption mid-training (here: Ctrl-C raised from the optimiser) leaves the old model intact."""
    import torch

    d = _copy(trained_tiny, tmp_path)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    calls = {"n": 0}
    real_step = torch.optim.AdamW.step

    def interrupt(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(torch.optim.AdamW, "step", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(load_config(tiny_config, {"output": str(d)}), force=True, quiet=True)
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
    assert not list(tmp_path.glob(".m.tmp-*"))


def test_baseline_roundtrip_without_pickle(tiny_data, tmp_path):
    from framing.training.config import Config, DataConfig, ModelConfig

    train_f, dev_f = tiny_data
    cfg = Config(name="b", output=str(tmp_path / "b"), data=DataConfig([str(train_f)], [str(dev_f)]),
                 model=ModelConfig(kind="tfidf", C=50.0))
    out = train(cfg, quiet=True)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "framing.json", "tfidf.json", "tfidf.safetensors"]
    framer = Framer.load(out)
    probs = framer.predict_proba([t for t, _ in TINY])
    truth = np.array([[label in labels for label in framer.labels] for _, labels in TINY])
    assert (framer.decide(probs) == truth).mean() > 0.9
    # the sklearn-free feature path matches sklearn's TfidfVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, max_features=200000)
    x_ref = vec.fit_transform([t for t, _ in TINY])  # the same training texts
    ours = framer.backend.features([TINY[0][0]]).toarray()[0]
    ref = x_ref[0].toarray()[0]
    order = [framer.backend.vocabulary[t] for t in vec.get_feature_names_out()]
    np.testing.assert_allclose(ours[order], ref, atol=1e-5)


@pytest.mark.parametrize("bf16", ["false", "true"])
def test_recorded_dev_metrics_match_the_saved_model(tiny_config, tiny_data, tmp_path, bf16):
    """Dev metrics and thresholds are computed without dropout and, for bf16 models, with the
    bf16 weights that are saved: reloading the model and scoring dev gives exactly the metrics
    recorded in framing.json."""
    from framing.eval.evaluate import evaluate

    overrides = {"model.dropout": "0.5", "train.epochs": "6", "train.bf16": bf16, "output": str(tmp_path / "d")}
    out = train(load_config(tiny_config, overrides), quiet=True)
    recorded = json.loads((out / "framing.json").read_text())["dev_metrics"]
    again = evaluate(out, [str(tiny_data[1])])
    assert again["labels"] == recorded["labels"] and again["macro"] == recorded["macro"]


def test_encoder_cut_to_its_first_layers(tiny_config, tmp_path):
    """model.layers keeps the base's first N layers; the saved model reloads at that depth."""
    out = train(load_config(tiny_config, {"model.layers": "1", "train.epochs": "1", "output": str(tmp_path / "d")}), quiet=True)
    encoder = Framer.load(out).backend.model.encoder
    assert encoder.config.num_hidden_layers == 1 and len(encoder.encoder.layer) == 1
    with pytest.raises(FramingError, match=r"E309.*has 2 layers"):
        train(load_config(tiny_config, {"model.layers": "3", "output": str(tmp_path / "e")}), quiet=True)


def test_ngram_blend_and_operating_points(tiny_config, tiny_data, tmp_path):
    """model.ngram_weight blends a TF-IDF model stored inside the model directory (weight chosen
    on dev with 'auto'); data.stream_dev adds 'stream' and 'balanced' operating points next to
    'dense'; the recorded dev metrics are those of the saved blend."""
    from framing.eval.evaluate import evaluate

    stream = tmp_path / "stream.jsonl"
    stream.write_text("".join(json.dumps({"id": f"st{i}", "doc": f"st{i // 4}", "text": t, "labels": [], "lang": "ko",
                                          "origin": "real", "source": {"corpus": "t"}, "license": "x"}, ensure_ascii=False) + "\n"
                              for i, t in enumerate(["오늘 날씨는 맑다.", "주가가 올랐다.", "축구 대표팀이 이겼다.", "새 도서관이 문을 열었다."] * 5)),
                      encoding="utf-8")
    overrides = {"model.ngram_weight": "auto", "data.stream_dev": f"[{stream}]", "data.default_point": "stream",
                 "train.epochs": "4", "output": str(tmp_path / "blend")}
    out = train(load_config(tiny_config, overrides), quiet=True)
    meta = json.loads((out / "framing.json").read_text())
    assert set(meta["operating_points"]) == {"dense", "stream", "balanced"}
    assert meta["thresholds"] == meta["operating_points"]["stream"]
    assert meta["default_point"] == "stream" and "stream_dev" in meta["data"]
    assert [t["weight"] for t in meta["training"]["ngram"]["dev_trials"]][:2] == [0.0, 0.1]
    assert meta["ngram_weight"] == meta["training"]["ngram"]["weight"] and (out / "ngram" / "tfidf.json").exists()
    assert "## Operating points" in (out / "README.md").read_text()
    dense = Framer.load(out, operating_point="dense")
    assert dense.thresholds == meta["operating_points"]["dense"]
    with pytest.raises(FramingError, match="E312"):
        Framer.load(out, operating_point="sparse")
    again = evaluate(out, [str(tiny_data[1])], operating_point="dense")
    assert again["macro"] == meta["dev_metrics"]["macro"]
    if meta["ngram_weight"] > 0:
        (out / "ngram" / "tfidf.json").unlink()
        with pytest.raises(FramingError, match="E301.*ngram/tfidf.json"):
            Framer.load(out)


def test_ngram_weight_out_of_range_is_refused(tiny_config):
    with pytest.raises(FramingError, match="E103.*ngram_weight"):
        load_config(tiny_config, {"model.ngram_weight": "1.5"})
    for point in ("stream", "balanced"):
        with pytest.raises(FramingError, match=f"E104.*stream_dev.*'{point}'"):
            load_config(tiny_config, {"data.default_point": point})


def test_frozen_lower_layers_train_on_cached_states(tiny_config, tmp_path):
    """model.freeze_layers: upper(lower(x)) is the full forward; the frozen layers do not move."""
    import torch

    from framing.model.classifier import pad_batch
    from framing.training.train import build_labeller

    labeller = build_labeller(load_config(tiny_config))
    model = labeller.model.eval()
    ids, _ = labeller.encode([t for t, _ in TINY], windows=False)
    input_ids, mask = pad_batch(ids, 0)
    with torch.no_grad():
        torch.testing.assert_close(model.upper(model.lower(input_ids, mask, 1), mask, 1), model(input_ids, mask))
    # Dev evaluations during training score through the same cached states: the same probabilities.
    from framing.training.train import _lower_states, _upper_proba

    cached = _upper_proba(model, _lower_states(labeller, ids, 1), 1, labeller.bf16, labeller.device)
    np.testing.assert_allclose(cached, labeller.predict_proba([t for t, _ in TINY]), atol=1e-5)
    out = train(load_config(tiny_config, {"model.freeze_layers": "1", "output": str(tmp_path / "f")}), quiet=True)
    trained = Framer.load(out).backend.model.encoder
    before = labeller.model.encoder
    assert torch.equal(trained.encoder.layer[0].attention.self.query.weight, before.encoder.layer[0].attention.self.query.weight)
    assert not torch.equal(trained.encoder.layer[1].attention.self.query.weight, before.encoder.layer[1].attention.self.query.weight)
    framer = Framer.load(out)
    truth = np.array([[label in labels for label in LABELS_ORDER] for _, labels in TINY])
    assert (framer.decide(framer.predict_proba([t for t, _ in TINY])) == truth).mean() > 0.9
    with pytest.raises(FramingError, match="E311"):
        train(load_config(tiny_config, {"model.freeze_layers": "2", "output": str(tmp_path / "g")}), quiet=True)


def test_device_choice(trained_tiny):
    """--device: auto takes a GPU only when there is one; the tests run on the CPU."""
    import torch

    from framing.model.classifier import resolve_device

    assert resolve_device("cpu") == "cpu" and resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(FramingError, match=r"E310.*--device tpu.*auto, cpu and cuda"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(FramingError, match=r"E310.*sees no CUDA GPU.*--device cpu"):
            Framer.load(trained_tiny, device="cuda")
    texts = [t for t, _ in TINY]
    assert np.array_equal(Framer.load(trained_tiny, device="auto").predict_proba(texts), Framer.load(trained_tiny).predict_proba(texts))
