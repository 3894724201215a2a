"""The transformer labeller: encoder + mean pooling + dropout + one linear layer, a sigmoid
per label. Saved as the encoder's own checkpoint (config.json with id2label, safetensors
weights, tokenizer) plus ``head.safetensors``."""

from __future__ import annotations

import contextlib
import functools
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from framing.errors import Errors, FramingError


class FrameClassifier(nn.Module):
    def __init__(self, encoder, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, n_labels)

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.pool_and_head(hidden, attention_mask)

    def pool_and_head(self, hidden, attention_mask):
        # Mean over real tokens: e5 was trained with mean pooling and ships no pooler.
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.dropout(pooled.float()))

    def _layers(self, hidden, attention_mask, layers):
        # The additive mask BERT's attention expects: 0 on tokens, a large negative on padding.
        additive = (1.0 - attention_mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in layers:
            out = layer(hidden, additive)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    def lower(self, input_ids, attention_mask, n: int):
        """Hidden states after the embeddings and the first ``n`` layers (frozen in training)."""
        hidden = self.encoder.embeddings(input_ids=input_ids)
        return self._layers(hidden, attention_mask, self.encoder.encoder.layer[:n])

    def upper(self, hidden, attention_mask, n: int):
        """Logits from the states ``lower(…, n)`` returned: the remaining layers, pooling, head.
        upper(lower(x, n), n) equals forward(x) (a test checks it)."""
        return self.pool_and_head(self._layers(hidden, attention_mask, self.encoder.encoder.layer[n:]), attention_mask)


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU runs bf16 matrix multiplies natively (AVX-512 or AMX via oneDNN). On an
    AVX2-only CPU bf16 is emulated: measured here at 0.6 GFLOP/s against 34 for fp32, so bf16
    must never be used there, whatever the config says."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_device(name: str = "auto") -> str:
    """'cpu' or 'cuda' for --device auto|cpu|cuda; auto takes a GPU when torch sees one."""
    if name not in ("auto", "cpu", "cuda"):
        raise FramingError(Errors.E310, device=name, problem="unknown device; the choices are auto, cpu and cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise FramingError(Errors.E310, device=name, problem=f"torch {torch.__version__} sees no CUDA GPU here")
    return "cuda" if name == "auto" and torch.cuda.is_available() else "cpu" if name == "auto" else name


def autocast(enabled: bool, device: str = "cpu"):
    """bf16 autocast on CUDA, and on CPU where bf16 runs natively; a no-op otherwise."""
    if enabled and (device == "cuda" or native_bf16()):
        return torch.autocast(device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def padded_width(seqs: list[list[int]], multiple_of: int = 1) -> int:
    """The longest sequence's length rounded up to ``multiple_of``."""
    return -(-max(len(s) for s in seqs) // multiple_of) * multiple_of


def pad_states(states: list[torch.Tensor], multiple_of: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Cached hidden states (length, hidden) of several sentences as one zero-padded batch."""
    width = -(-max(len(s) for s in states) // multiple_of) * multiple_of
    out = torch.zeros((len(states), width, states[0].shape[-1]), dtype=states[0].dtype)
    mask = torch.zeros((len(states), width), dtype=torch.long)
    for i, s in enumerate(states):
        out[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return out, mask


def pad_batch(seqs: list[list[int]], pad_id: int, multiple_of: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding to the longest sequence of the batch, rounded up to ``multiple_of``."""
    width = padded_width(seqs, multiple_of)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


class TransformerLabeller:
    """Inference (and the save/load format) of a trained FrameClassifier."""

    def __init__(self, model: FrameClassifier, tokenizer, max_length: int, text_prefix: str, bf16: bool = True,
                 device: str = "cpu"):
        self.model, self.tokenizer = model.to(device), tokenizer
        self.max_length, self.text_prefix, self.device = max_length, text_prefix, device
        self.bf16 = bf16 and (device == "cuda" or native_bf16())

    def encode(self, texts: list[str], windows: bool) -> tuple[list[list[int]], list[int]]:
        """Token ids per text; with ``windows``, long texts become overlapping windows (a quarter
        of max_length overlap) and the second list maps each window to its text."""
        enc = self.tokenizer([self.text_prefix + t for t in texts], truncation=True, max_length=self.max_length,
                             return_overflowing_tokens=windows, stride=self.max_length // 4 if windows else 0)
        mapping = enc["overflow_to_sample_mapping"] if windows else list(range(len(texts)))
        return enc["input_ids"], list(mapping)

    @torch.inference_mode()
    def predict_proba(self, texts: list[str], batch_size: int = 32, progress=None) -> np.ndarray:
        """Probabilities (n_texts, n_labels). A text longer than max_length is scored window by
        window and each label takes its highest window probability (a frame anywhere counts)."""
        if not texts:
            return np.zeros((0, self.model.head.out_features), dtype=np.float32)
        self.model.eval()  # no dropout: training calls this between steps, which set train mode
        ids, owner = self.encode(texts, windows=True)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths, little padding
        window_probs = np.zeros((len(ids), self.model.head.out_features), dtype=np.float32)
        pad_id = self.tokenizer.pad_token_id or 0
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            # Widths in steps of 8 keep the allocator reusing blocks (see training/train.py): peak
            # RSS 1.68 -> 1.35 GB scoring 2,000 sentences, throughput unchanged (150 vs 152 sentences/s).
            input_ids, mask = pad_batch([ids[i] for i in chunk], pad_id, multiple_of=8)
            with autocast(self.bf16, self.device):
                logits = self.model(input_ids.to(self.device), mask.to(self.device))
            window_probs[chunk] = torch.sigmoid(logits.float()).cpu().numpy()
            if progress is not None:
                progress(len(chunk))
        probs = np.zeros((len(texts), window_probs.shape[1]), dtype=np.float32)
        np.maximum.at(probs, np.asarray(owner), window_probs)
        return probs

    def save(self, directory: Path, labels: list[str]) -> None:
        encoder = self.model.encoder
        encoder.config.id2label = dict(enumerate(labels))
        encoder.config.label2id = {label: i for i, label in enumerate(labels)}
        # Weights are stored in the dtype they are served in (training casts bf16 models'
        # encoders to bf16 at the end), so reloading is bit-exact.
        encoder.save_pretrained(directory, safe_serialization=True)
        self.tokenizer.save_pretrained(directory)
        # Reload tokenizer.json as it is (PreTrainedTokenizerFast): transformers 5 otherwise rebuilds
        # XLM-R's tokenizer from it, which costs over a second per load.
        config_path = directory / "tokenizer_config.json"
        if (directory / "tokenizer.json").exists() and config_path.exists():
            tok_config = json.loads(config_path.read_text(encoding="utf-8"))
            tok_config["tokenizer_class"] = "PreTrainedTokenizerFast"
            config_path.write_text(json.dumps(tok_config, indent=2), encoding="utf-8")
        save_file({k: v.cpu().contiguous() for k, v in self.model.head.state_dict().items()}, str(directory / "head.safetensors"))

    @classmethod
    def load(cls, directory: Path, n_labels: int, max_length: int, text_prefix: str, bf16: bool = True,
             attention: str | None = None, device: str = "cpu"):
        from framing.model.base import load_encoder

        try:
            # bf16 models are stored in bf16 (see training/train.py); loading in the dtype asked
            # for never holds a second copy. Without native bf16 they are served in fp32 (same
            # weights, upcast exactly). The head stays fp32.
            bf16 = bf16 and native_bf16()
            encoder, tokenizer = load_encoder(str(directory), torch.bfloat16 if bf16 else torch.float32, attention)
            model = FrameClassifier(encoder, n_labels, dropout=0.0)
            model.head.float().load_state_dict(load_file(str(directory / "head.safetensors")))
        except Exception as err:  # any failure here means a damaged model directory
            raise FramingError(Errors.E304, path=directory, problem=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}") from None
        return cls(model, tokenizer, max_length, text_prefix, bf16, device)
