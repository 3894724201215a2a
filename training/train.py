"""Train a frame labeller (transformer or TF-IDF baseline) from a Config.

Dev (split from train by document) drives early stopping and per-label thresholds; the
gold set is never read here. Same seed + same data + same thread count = same model."""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

import numpy as np

from framing.eval.metrics import score, tune_balanced_thresholds, tune_stream_thresholds, tune_thresholds
from framing.labels import LABELS
from framing.training.artifacts import atomic_directory, check_output, write_meta
from framing.training.config import Config
from framing.training.data import Record, label_matrix, load_split


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _data_summary(records: list[Record], hashes: dict[str, str]) -> dict:
    return {"files": hashes, "n_sentences": len(records), "n_docs": len({r.doc for r in records})}


def train(config: Config, force: bool = False, root: Path | None = None, quiet: bool = False, device: str = "auto") -> Path:
    """Train on ``device`` (auto, cpu, cuda), tune thresholds on dev, and write the model
    directory ``config.output``: the same files whatever the device (weights come back to the CPU)."""
    output = Path(config.output)
    check_output(output, force)  # fail before minutes of training, not after
    labels = config.labels
    train_recs, train_hashes = load_split(config.data.train, labels, config.data.langs, root)
    dev_recs, dev_hashes = load_split(config.data.dev, labels, ["ko"], root)  # tune for Korean
    set_seed(config.seed)
    started = time.time()
    if config.model.kind == "tfidf":
        backend, history = _fit_tfidf(config, train_recs)
    else:
        backend, history = _fit_transformer(config, train_recs, dev_recs, quiet, device)
    y_dev = label_matrix(dev_recs, labels)
    dev_probs = backend.predict_proba([r.text for r in dev_recs])
    if config.model.kind == "transformer" and config.model.ngram_weight != 0:
        backend, dev_probs, history["ngram"] = _blend_ngram(config, backend, train_recs, y_dev, dev_probs, dev_recs)
    thresholds = tune_thresholds(y_dev, dev_probs)
    points = {"dense": {label: float(t) for label, t in zip(labels, thresholds)}}
    data = {"train": _data_summary(train_recs, train_hashes), "dev": _data_summary(dev_recs, dev_hashes)}
    if config.data.stream_dev:
        stream_recs, stream_hashes = load_split(config.data.stream_dev, labels, ["ko"], root)
        data["stream_dev"] = _data_summary(stream_recs, stream_hashes)
        y_stream, stream_probs = label_matrix(stream_recs, labels), backend.predict_proba([r.text for r in stream_recs])
        stream = tune_stream_thresholds(y_dev, dev_probs, y_stream, stream_probs)
        points["stream"] = {label: float(t) for label, t in zip(labels, stream)}
        balanced = tune_balanced_thresholds(y_dev, dev_probs, y_stream, stream_probs, stream)
        points["balanced"] = {label: float(t) for label, t in zip(labels, balanced)}
    dev_metrics = score(y_dev, dev_probs >= thresholds, labels)
    meta = {
        "kind": config.model.kind, "labels": labels, "output": str(output),
        "thresholds": points[config.data.default_point], "default_point": config.data.default_point,
        "operating_points": points,
        "ngram_weight": getattr(backend, "weight", 0.0),
        "config": config.to_dict(),
        "data": data,
        "dev_metrics": dev_metrics,
        "training": {**history, "wall_s": round(time.time() - started, 1)},
    }
    with atomic_directory(output, force) as tmp:
        backend.save(tmp, labels)
        write_meta(tmp, meta)
    if not quiet:
        print(f"saved {output} (dev macro F1 {dev_metrics['macro']['f1']:.3f}, "
              f"{meta['training']['wall_s']:.0f} s)", file=sys.stderr)
    return output


def _fit_tfidf(config: Config, records: list[Record]):
    from framing.model.baseline import TfidfLabeller

    m = config.model
    backend = TfidfLabeller.fit([r.text for r in records], label_matrix(records, config.labels),
                                (m.ngram_min, m.ngram_max), m.max_features, m.C, config.seed)
    return backend, {"epochs_run": 1}


def _blend_ngram(config: Config, transformer, train_recs, y_dev, dev_probs, dev_recs):
    """Train the n-gram model on the same data and blend it in, with the configured weight or
    the one that is best on dev ('auto')."""
    from framing.model.blend import Blend, choose_weight

    ngram, _ = _fit_tfidf(config, train_recs)
    ngram_probs = ngram.predict_proba([r.text for r in dev_recs])
    weight, trials = ((config.model.ngram_weight, []) if config.model.ngram_weight != "auto"
                      else choose_weight(y_dev, dev_probs, ngram_probs, config.labels))
    blend = Blend(transformer, ngram, weight)
    return blend, blend.mix(dev_probs, ngram_probs), {"weight": weight, "dev_trials": trials}


def _pos_weight(y: np.ndarray, setting, labels) -> np.ndarray | None:
    if setting == "none":
        return None
    if isinstance(setting, dict):
        return np.array([float(setting.get(label, 1.0)) for label in labels], dtype=np.float32)
    pos = y.sum(0)
    # sqrt(neg/pos): boosts rare frames without the recall-only swing of the full ratio.
    return np.minimum(np.sqrt((len(y) - pos) / np.maximum(pos, 1.0)), 10.0).astype(np.float32)


def _length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (less padding), themselves in shuffled order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def build_labeller(config: Config, device: str = "cpu"):
    """The untrained transformer labeller of a config: base encoder + fresh head."""
    import torch

    from framing.model.base import load_base
    from framing.model.classifier import FrameClassifier, TransformerLabeller

    m, t = config.model, config.train
    if t.threads:
        torch.set_num_threads(t.threads)
    encoder, tokenizer = load_base(m.base, m.attention, m.attention_dropout, m.layers)
    set_seed(config.seed)  # the head's initialisation must not depend on what loading consumed
    model = FrameClassifier(encoder, len(config.labels), m.dropout)
    if m.freeze_embeddings:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    return TransformerLabeller(model, tokenizer, m.max_length, m.text_prefix, t.bf16, device)


def backward_batch(model, loss_fn, seqs: list, y, pad_id: int, bf16: bool, max_tokens: int, frozen: int = 0,
                   device: str = "cpu") -> float:
    """Accumulate the gradient of the batch's mean loss, in passes of at most ``max_tokens``
    padded tokens (0: one pass): activation memory is capped, the gradient is the same.
    ``seqs`` are token ids, or with ``frozen`` > 0 the cached outputs of the frozen lower
    layers (``FrameClassifier.lower``). Returns the loss."""
    from framing.model.classifier import autocast, pad_batch, pad_states, padded_width

    # Widths in steps of 16: with a few distinct shapes the allocator reuses freed activation
    # blocks; with every width from 10 to 128 glibc's heap fragments and peak RSS grew by
    # ~0.6 GB (measured: 2.39 -> 1.75 GB over 60 steps, +7% time).
    width = padded_width(seqs, 16)
    size = max(1, max_tokens // width) if max_tokens else len(seqs)
    loss = 0.0
    for start in range(0, len(seqs), size):
        if frozen:
            states, mask = pad_states(seqs[start:start + size], multiple_of=16)
            with autocast(bf16, device):
                logits = model.upper(states.to(device), mask.to(device), frozen)
        else:
            states, mask = pad_batch(seqs[start:start + size], pad_id, multiple_of=16)
            with autocast(bf16, device):
                logits = model(states.to(device), mask.to(device))
        # Weighted by its share of the batch, each pass adds its part of the batch-mean gradient.
        part_loss = loss_fn(logits.float(), y[start:start + size].to(device)) * (len(states) / len(seqs))
        part_loss.backward()
        loss += part_loss.item()
    return loss


def _lower_states(labeller, ids: list[list[int]], n: int, batch_size: int = 64) -> list:
    """Freeze the embeddings and the first ``n`` layers and return their output for every
    training sentence, computed once (the top layers then train on these states)."""
    import torch

    from framing.model.classifier import autocast, pad_batch

    model = labeller.model
    depth = len(model.encoder.encoder.layer)
    if not 0 < n < depth:
        from framing.errors import Errors, FramingError

        raise FramingError(Errors.E311, frozen=n, depth=depth, depth_minus_one=depth - 1)
    for p in [*model.encoder.embeddings.parameters(), *model.encoder.encoder.layer[:n].parameters()]:
        p.requires_grad_(False)
    model.eval()
    states = [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            input_ids, mask = pad_batch([ids[i] for i in chunk], labeller.tokenizer.pad_token_id or 0, multiple_of=8)
            with autocast(labeller.bf16, labeller.device):
                hidden = model.lower(input_ids.to(labeller.device), mask.to(labeller.device), n).float().cpu()
            for row, i in enumerate(chunk):
                states[i] = hidden[row, : len(ids[i])].clone()
    return states


def _upper_proba(model, states: list, n: int, bf16: bool, device: str, batch_size: int = 64) -> np.ndarray:
    """Probabilities from the cached output of the ``n`` frozen layers (``_lower_states``):
    the same as ``predict_proba`` for texts within max_length (longer ones are truncated)."""
    import torch

    from framing.model.classifier import autocast, pad_states

    model.eval()
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    probs = np.zeros((len(states), model.head.out_features), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            hidden, mask = pad_states([states[i] for i in chunk], multiple_of=8)
            with autocast(bf16, device):
                logits = model.upper(hidden.to(device), mask.to(device), n)
            probs[chunk] = torch.sigmoid(logits.float()).cpu().numpy()
    return probs


def _fit_transformer(config: Config, train_recs: list[Record], dev_recs: list[Record], quiet: bool, device: str = "auto"):
    import torch
    from tqdm import tqdm

    from framing.model.classifier import native_bf16, resolve_device

    m, t = config.model, config.train
    labeller = build_labeller(config, resolve_device(device))
    model, tokenizer = labeller.model, labeller.tokenizer

    ids, _ = labeller.encode([r.text for r in train_recs], windows=False)
    truncated = sum(len(x) >= m.max_length for x in ids)
    if truncated:
        print(f"warning: {truncated} training sentence(s) longer than model.max_length={m.max_length} tokens "
              "were truncated", file=sys.stderr)
    inputs = _lower_states(labeller, ids, m.freeze_layers) if m.freeze_layers else ids
    # Dev is scored at every evaluation: with frozen layers, through their cached output too.
    dev_inputs = (_lower_states(labeller, labeller.encode([r.text for r in dev_recs], windows=False)[0], m.freeze_layers)
                  if m.freeze_layers else None)
    y = torch.tensor(label_matrix(train_recs, config.labels))
    pw = _pos_weight(y.numpy(), t.pos_weight, config.labels)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=None if pw is None else torch.tensor(pw, device=labeller.device))
    y_dev = label_matrix(dev_recs, config.labels)

    head = list(model.head.parameters())
    body = [p for p in model.encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": body, "lr": t.lr}, {"params": head, "lr": t.head_lr}],
                                  weight_decay=t.weight_decay)
    rng = random.Random(config.seed)
    steps_per_epoch = math.ceil(len(ids) / t.batch_size)
    total = steps_per_epoch * t.epochs
    warmup = max(1, int(total * t.warmup_ratio))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    n_evals = t.epochs * max(1, t.evals_per_epoch)
    eval_steps = {round(total * i / n_evals) for i in range(1, n_evals + 1)}  # evenly spaced, the last at the end

    best = {"f1": -1.0, "step": 0, "state": None}
    history, bad_evals, step = [], 0, 0
    bar = tqdm(total=total, desc=f"train {config.name}", unit="step", disable=quiet, file=sys.stderr)
    pad_id = tokenizer.pad_token_id or 0
    for epoch in range(t.epochs):
        for batch in _length_batches([len(x) for x in ids], t.batch_size, rng):
            model.train()
            optimizer.zero_grad(set_to_none=True)
            loss = backward_batch(model, loss_fn, [inputs[i] for i in batch], y[batch], pad_id, labeller.bf16,
                                  t.max_tokens_per_pass, m.freeze_layers, labeller.device)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", dev_f1=f"{best['f1']:.3f}")
            if step in eval_steps:
                probs = (_upper_proba(model, dev_inputs, m.freeze_layers, labeller.bf16, labeller.device) if m.freeze_layers
                         else labeller.predict_proba([r.text for r in dev_recs]))
                f1 = score(y_dev, probs >= tune_thresholds(y_dev, probs), config.labels)["macro"]["f1"]
                history.append({"step": step, "epoch": epoch + 1, "loss": round(loss, 4), "dev_macro_f1": round(f1, 4)})
                if f1 > best["f1"]:
                    state = {k: v.detach().clone() for k, v in model.state_dict().items() if "word_embeddings" not in k or not m.freeze_embeddings}
                    best, bad_evals = {"f1": f1, "step": step, "state": state}, 0
                else:
                    bad_evals += 1
                bar.set_postfix(loss=f"{loss:.3f}", dev_f1=f"{f1:.3f}")
                if bad_evals >= t.patience:
                    break
        if bad_evals >= t.patience:
            break
    bar.close()
    del optimizer, schedule  # free Adam's moments and the gradients before the copies below
    model.zero_grad(set_to_none=True)
    model.load_state_dict(best["state"], strict=False)
    # Where the CPU runs bf16 natively, serve (and save) bf16 encoder weights: ~60% faster than
    # re-casting fp32 weights under autocast on every call. Cast now, so the dev thresholds and
    # metrics that train() records are those of exactly the weights that will be saved. The
    # choice depends on the CPU that serves, not on the device that trained: the same artifacts
    # whether training ran on CPU or CUDA.
    serve_bf16 = t.bf16 and native_bf16()
    if serve_bf16:
        model.encoder.to(torch.bfloat16)
    labeller.model, labeller.device, labeller.bf16 = model.to("cpu"), "cpu", serve_bf16
    return labeller, {"epochs_run": epoch + 1, "steps": step, "best_step": best["step"],
                      "best_dev_macro_f1_during_training": round(best["f1"], 4), "history": history,
                      "truncated_train_sentences": truncated}
