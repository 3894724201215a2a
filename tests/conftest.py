"""Shared fixtures: a tiny BERT built locally from a config (no hub), tiny in-memory data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from framing.labels import LABELS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = ROOT / "seeds" / "000_a1abbb1d65276d23.txt"

# Sentences with an obvious cue per label, so a tiny model can overfit them.
TINY = [
    ("서방 정보기관이 시위대를 훈련시키고 내정에 간섭했다.", ["external_interference"]),
    ("외국 세력이 선거에 개입해 내정 간섭을 시도했다.", ["external_interference"]),
    ("이번 사태는 조직된 색깔 혁명 시나리오였다.", ["color_revolution"]),
    ("마이단 방식의 정권 교체 시도가 있었다.", ["color_revolution"]),
    ("무장 테러리스트들이 공항을 공격했다.", ["terrorism"]),
    ("극단주의 반군이 마을을 장악했다.", ["terrorism"]),
    ("파병은 조약 제4조에 따른 합법적 조치다.", ["legitimacy"]),
    ("공식 요청에 따른 정당한 배치라고 강조했다.", ["legitimacy"]),
    ("형제 국가들은 굳건한 연대와 상호 신뢰를 보여줬다.", ["solidarity"]),
    ("동맹국들은 공동 훈련으로 단결을 과시했다.", ["solidarity"]),
    ("서울의 오늘 날씨는 맑고 기온은 20도다.", []),
    ("주가가 소폭 상승하며 장을 마감했다.", []),
]


def write_records(path: Path, rows, doc_prefix="doc") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for i, (text, labels) in enumerate(rows):
            fh.write(json.dumps({"id": f"{doc_prefix}-{i}", "doc": f"{doc_prefix}-{i // 2}", "text": text, "labels": labels,
                                 "lang": "ko", "origin": "authored", "source": {"corpus": "tests"},
                                 "license": "CC0"}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT with a WordPiece vocabulary trained on the tiny sentences."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny-bert")
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    corpus = [t for t, _ in TINY] + SEED.read_text(encoding="utf-8").splitlines()
    tok.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=600, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=64)
    fast.save_pretrained(out)
    config = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
    import torch

    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=False).save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture
def tiny_data(tmp_path) -> tuple[Path, Path]:
    train = write_records(tmp_path / "data" / "train" / "train.jsonl", TINY, "tr")
    dev = write_records(tmp_path / "data" / "dev" / "dev.jsonl", TINY, "dv")
    return train, dev


@pytest.fixture
def tiny_config(tmp_path, tiny_base, tiny_data) -> Path:
    """A config file for the tiny model; overfits the tiny data in a few seconds."""
    train, dev = tiny_data
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(f"""
name: tiny
output: {tmp_path / 'runs' / 'tiny'}
seed: 7
data: {{train: [{train}], dev: [{dev}]}}
model: {{kind: transformer, base: {tiny_base}, max_length: 32, dropout: 0.0, freeze_embeddings: false, text_prefix: ""}}
train: {{epochs: 40, batch_size: 4, lr: 3.0e-3, head_lr: 1.0e-2, warmup_ratio: 0.05, patience: 100, evals_per_epoch: 1, bf16: false}}
""", encoding="utf-8")
    return cfg


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory, tiny_base) -> Path:
    """A tiny model trained once per session (used by scoring and CLI tests)."""
    from framing.training.config import load_config
    from framing.training.train import train

    tmp = tmp_path_factory.mktemp("trained")
    tr = write_records(tmp / "train.jsonl", TINY, "tr")
    dv = write_records(tmp / "dev.jsonl", TINY, "dv")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(f"""
name: tiny
output: {tmp / 'model'}
data: {{train: [{tr}], dev: [{dv}]}}
model: {{base: {tiny_base}, max_length: 32, dropout: 0.0, freeze_embeddings: false, text_prefix: ""}}
train: {{epochs: 40, batch_size: 4, lr: 3.0e-3, head_lr: 1.0e-2, warmup_ratio: 0.05, patience: 100, evals_per_epoch: 1, bf16: false}}
""", encoding="utf-8")
    return train(load_config(cfg), quiet=True)


def run_cli(*args, input_bytes: bytes | None = None, cwd: Path | None = None, env_extra: dict | None = None,
            timeout: float = 600):
    """Run the real `framing` CLI in a subprocess; returns CompletedProcess (text output)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env_extra or {})}
    proc = subprocess.run([sys.executable, "-m", "framing.cli", *map(str, args)], input=input_bytes,
                          capture_output=True, cwd=cwd or ROOT, env=env, timeout=timeout)
    proc.stdout_text = proc.stdout.decode("utf-8", errors="replace")
    proc.stderr_text = proc.stderr.decode("utf-8", errors="replace")
    return proc


@pytest.fixture
def labels():
    return list(LABELS)


def default_sigint() -> None:
    """preexec_fn for a child that a test interrupts: a shell that started the test run in the
    background (`cmd &`) leaves SIGINT ignored, and Python keeps an ignored SIGINT ignored, so
    Ctrl-C would never reach the child. Restore the default before exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
