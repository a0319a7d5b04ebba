"""The model catalog: one row per registered model, with its parameter counts.

    >>> from kerascnn.catalog import model_catalog, catalog_markdown
    >>> rows = model_catalog("resnet*", params=False)
    >>> rows[0].model, rows[0].input_shape
    ('resnet101', (224, 224, 3))

``kerascnn models`` prints :func:`catalog_markdown` of these rows. A program reads the
fields (``pandas.DataFrame(rows)`` works too). Built on the registry's public API only
(:func:`~kerascnn.registry.list_models`, :func:`~kerascnn.registry.model_info`,
:func:`~kerascnn.registry.create_model`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kerascnn.registry import create_model, list_models, model_info

__all__ = ["SMALL_INPUT", "CatalogRow", "model_catalog", "catalog_markdown"]

SMALL_INPUT = ((32, 32, 3), 10)
"""The second input every model is counted at: (input_shape, num_classes), CIFAR-sized."""


@dataclass(frozen=True)
class CatalogRow:
    """One registered model: its metadata and (when counted) its parameters."""

    model: str
    family: str
    year: int
    paper: str
    input_shape: tuple[int, ...]
    """The canonical input (height, width, channels)."""
    num_classes: int
    """The canonical number of classes."""
    min_input_size: int
    params_canonical: int | None = None
    """Parameters at the canonical input and classes; None when not counted."""
    params_small: int | None = None
    """Parameters at :data:`SMALL_INPUT`; None when not counted."""


def _count_params(name: str, **kwargs) -> int:
    import keras

    count = create_model(name, **kwargs).count_params()
    keras.backend.clear_session()  # the zoo built one by one must not pile up in memory
    return count


def model_catalog(
    pattern: str | None = None,
    *,
    params: bool = True,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[CatalogRow]:
    """Rows for the registered models matching the shell ``pattern`` (all by default).

    With ``params`` every model is built twice (canonical input, then :data:`SMALL_INPUT`) to
    count its parameters: about a minute for the whole zoo. ``progress(k, n, name)`` is called
    before model ``k`` of ``n`` is built. No match gives an empty list.
    """
    names = list_models(pattern)
    rows = []
    for k, name in enumerate(names, start=1):
        info = model_info(name)
        counts = {}
        if params:
            if progress is not None:
                progress(k, len(names), name)
            shape, classes = SMALL_INPUT
            counts = {
                "params_canonical": _count_params(name),
                "params_small": _count_params(name, input_shape=shape, num_classes=classes),
            }
        rows.append(
            CatalogRow(
                model=name,
                family=info.family,
                year=info.year,
                paper=info.paper,
                input_shape=tuple(info.input_shape),
                num_classes=info.num_classes,
                min_input_size=info.min_input_size,
                **counts,
            )
        )
    return rows


def _shape_text(shape, classes) -> str:
    return "x".join(map(str, shape)) + f"/{classes}"


def catalog_markdown(rows: list[CatalogRow]) -> str:
    """A markdown table of ``rows``; the parameter columns appear when the rows have counts."""
    import pandas as pd

    counted = any(row.params_canonical is not None for row in rows)
    small = f"params ({_shape_text(*SMALL_INPUT)})"
    table = []
    for row in rows:
        line = {
            "model": row.model,
            "family": row.family,
            "year": row.year,
            "canonical input": _shape_text(row.input_shape, row.num_classes),
            "min px": row.min_input_size,
            "paper": row.paper,
        }
        if counted:
            line["params (canonical)"] = f"{row.params_canonical:,}"
            line[small] = f"{row.params_small:,}"
        table.append(line)
    return pd.DataFrame(table).to_markdown(index=False)
