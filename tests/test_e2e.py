"""End to end on the real data: the default config and the baseline, then the eval gate on
every held-out set (gold, realworld, stream, robustness). Slow; CI runs it.

The default model is the one `make run` trains into runs/e5-small when its framing.json says
it was trained from exactly this config and these data files (same sha256); otherwise the test
trains it here. Training is deterministic, so this checks the same model without paying for a
second identical training in CI."""

import json

import pytest
from conftest import ROOT, SEED, run_cli

from framing.training.config import load_config
from framing.training.data import data_files

pytestmark = pytest.mark.slow

TRAINING_TIMEOUT_S = 60 * 60  # a guard against a hung run, not a speed claim: `framing bench --train` times training


def up_to_date(model_dir, config_path) -> bool:
    meta_file = model_dir / "framing.json"
    if not meta_file.exists():
        return False
    import hashlib

    meta = json.loads(meta_file.read_text())
    config = load_config(config_path)
    if meta["config"] != {**config.to_dict(), "output": meta["config"]["output"]}:
        return False
    recorded = {f: h for split in meta["data"].values() for f, h in split["files"].items()}
    now = {}
    for paths in (config.data.train, config.data.dev, config.data.stream_dev):
        for f in data_files(paths, ROOT):
            now[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return {k.split("data/", 1)[-1]: v for k, v in recorded.items()} == {k.split("data/", 1)[-1]: v for k, v in now.items()}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("e2e")
    found = {}
    for config, name, made in (("e5-small.yaml", "e5", ROOT / "runs" / "e5-small"), ("baseline-tfidf.yaml", "baseline", ROOT / "runs" / "baseline")):
        if up_to_date(made, ROOT / "configs" / config):
            found[name] = made
            continue
        p = run_cli("train", "--config", ROOT / "configs" / config, "--output", out / name,
                    timeout=TRAINING_TIMEOUT_S, cwd=ROOT)
        assert p.returncode == 0, p.stderr_text[-3000:]
        found[name] = out / name
    return found["e5"], found["baseline"]


def test_default_model_passes_the_gate(models, tmp_path):
    e5, baseline = models
    meta = json.loads((e5 / "framing.json").read_text())
    files = [f.split("data/", 1)[-1] for split in meta["data"].values() for f in split["files"]]
    assert files and not [f for f in files if f.startswith("gold/") or "/test/" in f]  # held-out sets never touch training
    p = run_cli("eval", "--model", e5, "--compare", baseline, "--json", tmp_path / "eval.json",
                "--gate", ROOT / "eval" / "floors.yaml", cwd=ROOT)
    print(p.stdout_text)
    assert p.returncode == 0, p.stdout_text + p.stderr_text
    report = json.loads((tmp_path / "eval.json").read_text())
    assert set(report) == {"gold", "realworld", "stream", "robustness"}  # every held-out set was evaluated
    transformer, tfidf = report["realworld"]
    assert transformer["n_sentences"] >= 600
    assert transformer["macro"]["f1"] > tfidf["macro"]["f1"]  # what the transformer adds on real news


def test_scores_the_seed_article(models, tmp_path):
    e5, _ = models
    p = run_cli("score", SEED, "--model", e5, "--format", "html", "--output", tmp_path / "seed.html")
    assert p.returncode == 0, p.stderr_text
    page = (tmp_path / "seed.html").read_text(encoding="utf-8")
    assert page.count('class="s framed"') >= 10  # the seed is frame-dense
