"""Each model's default training recipe in a suite: the registry's, where the suite names no optimizer.

timm's habit: a model carries the training settings it needs (``pretrained_cfg``); here the
registry's :class:`~kerascnn.models.Recipe` (optimizer and peak learning rate) of a model, or
:data:`~kerascnn.models.DEFAULT_RECIPE` (Adam at 1e-3) for a model without one. A suite or
command line that names an optimizer (``--optimizer``, ``optimizer = ...``, a model's
``[overrides]``) trains with it instead; a learning rate it gives replaces the recipe's.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def recipe_for(cfg, spec: str) -> dict[str, Any] | None:
    """The recipe ``spec`` trains with under ``cfg`` (a BenchConfig with the model's
    overrides applied), as stored in its record: ``name`` (the model's registered name, or
    ``"default"``), ``optimizer``, ``learning_rate``, ``why``; None when ``cfg`` names the
    optimizer."""
    from kerascnn.models import DEFAULT_RECIPE, model_info

    if cfg.optimizer is not None:
        return None
    info = model_info(spec)
    recipe = info.recipe or DEFAULT_RECIPE
    return {"name": info.name if info.recipe else "default", **dataclasses.asdict(recipe)}


def with_recipe(cfg, spec: str):
    """``cfg`` with the optimizer and learning rate ``spec`` trains with filled in."""
    recipe = recipe_for(cfg, spec)
    if recipe is None:
        return cfg
    rate = cfg.learning_rate if cfg.learning_rate is not None else recipe["learning_rate"]
    return dataclasses.replace(cfg, optimizer=recipe["optimizer"], learning_rate=rate)
