"""A model's default training recipe (plain Python, so the command line's help reads it
without loading Keras); the registry (:mod:`kerascnn.models._registry`) carries one per model."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_RECIPE", "Recipe"]


@dataclass(frozen=True)
class Recipe:
    """A model's default training recipe, as timm's per-model default configurations: what
    ``kerascnn bench`` trains the model with when the suite and the command line name no
    optimizer (a learning rate they give replaces the recipe's)."""

    optimizer: str
    """``"sgd"``, ``"momentum"`` (Nesterov SGD), ``"adam"`` or ``"adamw"``."""
    learning_rate: float
    """Peak learning rate (after the warm-up)."""
    why: str = ""
    """The measurement behind it, in a sentence."""


DEFAULT_RECIPE = Recipe(
    "adam", 1e-3, "Keras' Adam default: what a model without its own trains with"
)
"""The recipe of every model that registers none."""
