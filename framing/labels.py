"""The label schema: five frames, in a fixed order that every saved model records."""

from __future__ import annotations

from framing.errors import Errors, FramingError

LABELS: tuple[str, ...] = (
    "external_interference",
    "color_revolution",
    "terrorism",
    "legitimacy",
    "solidarity",
)


def check_labels(labels, path) -> list[str]:
    """Return ``labels`` as a list, refusing any name outside the schema."""
    for label in labels:
        if label not in LABELS:
            raise FramingError(Errors.E105, path=path, label=label, known=", ".join(LABELS))
    return list(labels)


def check_same_labels(model_labels, other_labels, path, other: str) -> None:
    """Refuse a model whose label order differs from the data or gold set it meets."""
    if list(model_labels) != list(other_labels):
        raise FramingError(Errors.E302, path=path, model_labels=list(model_labels),
                           other=other, other_labels=list(other_labels))
