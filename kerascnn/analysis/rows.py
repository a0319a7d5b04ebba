"""The rows and totals of a profile and their renderings (markdown, text, CSV, JSON, pandas).

:class:`LayerProfile` is one call of one layer; :class:`ModelProfile` holds the rows of a model
and sums them. The conventions behind the numbers are in :mod:`kerascnn.analysis.profile`.

Parameter counts carry the package's labels (the same in ``kerascnn models``, the README's zoo
table and the bench reports): **params (total)** is every weight, trainable plus non-trainable
(BatchNorm's moving mean and variance): Keras' ``count_params()`` and keras.applications'
"Total params"; **trainable** is what the optimizer updates, what torchvision, timm and the
papers count (BatchNorm statistics are buffers there).

``print(profile(model))`` prints the per-layer table and totals that ``kerascnn summary``
prints (:meth:`ModelProfile.to_text`); ``repr`` is one line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["LayerProfile", "ModelProfile"]


@dataclass
class LayerProfile:
    """One row of the profile: one call of one layer (a shared layer has one row per call)."""

    name: str
    type: str
    output_shape: tuple | list  # per sample (no batch); a list of tuples for several outputs
    trainable_params: int = 0
    non_trainable_params: int = 0
    macs: int = 0
    other_ops: int = 0
    rf_size: tuple | None = None  # per spatial dimension; None when unknown / not spatial
    rf_jump: tuple | None = None  # None entries: the unit sees the whole (global) input
    rf_start: tuple | None = None
    activation_bytes: int = 0
    note: str = ""
    padding_macs: int = 0
    """The part of ``macs`` that multiplies zero padding (XLA's cost analysis skips it)."""

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def flops(self) -> int:
        return 2 * self.macs


def _fmt_shape(shape) -> str:
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return "x".join("?" if d is None else str(d) for d in shape)


def _fmt_rf(values) -> str:
    if values is None:
        return ""
    vals = [
        "-" if v is None else (str(v) if float(v).is_integer() else f"{float(v):.3g}")
        for v in values
    ]
    vals = [v[:-2] if v.endswith(".0") else v for v in vals]
    return vals[0] if len(set(vals)) == 1 else "x".join(vals)


def _human(n: float, unit: str = "") -> str:
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}{unit}"
    return f"{int(n)}{unit}"


def _short(n: float) -> str:
    """``416520`` -> ``0.42 M``: the largest unit that leaves at least 0.1 of it."""
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div / 10:
            return f"{n / div:.2f} {suffix}"
    return f"{int(n)}"


PARAMS_LABEL = "params (total)"
"""The label of a parameter count that includes the non-trainable weights (module docstring)."""


@dataclass(repr=False)
class ModelProfile:
    """The profile of a model: rows plus totals. See the module docstring for conventions."""

    name: str
    input_shape: tuple | list
    dtype: str
    rows: list[LayerProfile] = field(default_factory=list)
    unknown_layers: list[str] = field(default_factory=list)

    @property
    def trainable_params(self) -> int:
        return sum(r.trainable_params for r in self.rows)

    @property
    def non_trainable_params(self) -> int:
        return sum(r.non_trainable_params for r in self.rows)

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def total_macs(self) -> int:
        """Multiply-accumulates per sample (conv/dense/depthwise), the "GMACs" of papers."""
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        """2 x total_macs."""
        return 2 * self.total_macs

    @property
    def other_ops(self) -> int:
        return sum(r.other_ops for r in self.rows)

    @property
    def padding_macs(self) -> int:
        """The part of total_macs that multiplies zero padding (counted, as torchvision does)."""
        return sum(r.padding_macs for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.rows)

    @property
    def receptive_field(self) -> tuple | None:
        """Receptive-field size of the last spatial layer (per spatial dimension)."""
        for r in reversed(self.rows):
            if r.rf_size is not None and r.rf_jump is not None and None not in r.rf_jump:
                return r.rf_size
        return None

    def __str__(self) -> str:
        """The per-layer table and totals, as ``kerascnn summary`` prints them."""
        return self.to_text()

    def __repr__(self) -> str:
        params = f"{self.total_params:,} params"
        if self.non_trainable_params:
            params += f" (total; {self.trainable_params:,} trainable)"
        layers = sum(r.type != "InputLayer" for r in self.rows)
        return f"Profile({self.name}: {params}, {_short(self.total_macs)} MACs, {layers} layers)"

    def totals(self) -> dict[str, Any]:
        """Flat dict of the totals (JSON-friendly)."""
        return {
            "model": self.name,
            "input_shape": self.input_shape,
            "dtype": self.dtype,
            "layers": len(self.rows),
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "total_macs": self.total_macs,
            "total_flops": self.total_flops,
            "other_ops": self.other_ops,
            "padding_macs": self.padding_macs,
            "activation_bytes": self.activation_bytes,
            "unknown_layers": list(self.unknown_layers),
        }

    def _records(self, human: bool = False) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            out.append(
                {
                    "name": r.name,
                    "type": r.type,
                    "output": _fmt_shape(r.output_shape),
                    PARAMS_LABEL: _human(r.params) if human else r.params,
                    "non-trainable": r.non_trainable_params
                    if not human
                    else (_human(r.non_trainable_params) if r.non_trainable_params else ""),
                    "MACs": _human(r.macs) if human else r.macs,
                    "other ops": _human(r.other_ops) if human else r.other_ops,
                    "RF": _fmt_rf(r.rf_size),
                    "jump": _fmt_rf(r.rf_jump),
                    "start": _fmt_rf(r.rf_start),
                    "act bytes": _human(r.activation_bytes, "B") if human else r.activation_bytes,
                    "note": r.note,
                }
            )
        return out

    def to_dataframe(self):
        """One row per layer call as a pandas DataFrame (raw numbers; tuples per dimension)."""
        import pandas as pd

        records = []
        for r in self.rows:
            d = asdict(r)
            d["params"] = r.params
            records.append(d)
        cols = [
            "name",
            "type",
            "output_shape",
            "params",
            "trainable_params",
            "non_trainable_params",
            "macs",
            "other_ops",
            "rf_size",
            "rf_jump",
            "rf_start",
            "activation_bytes",
            "note",
        ]
        return pd.DataFrame.from_records(records, columns=cols)

    def totals_lines(self) -> list[str]:
        t = self
        lines = [
            f"Model: {t.name}   input {_fmt_shape(t.input_shape)}   dtype {t.dtype}",
            _params_line(t.trainable_params, t.non_trainable_params),
            f"MACs: {t.total_macs:,} ({_human(t.total_macs)})   FLOPs = 2 x MACs: "
            f"{_human(t.total_flops)}   other ops: {_human(t.other_ops)}",
            f"Activations: {_human(t.activation_bytes, 'B')} per sample (sum of layer outputs)",
        ]
        rf = self.receptive_field
        if rf is not None:
            lines.append(f"Receptive field of the last spatial layer: {_fmt_rf(rf)} px")
        if self.padding_macs:
            lines.append(
                f"Of the MACs, {_human(self.padding_macs)} multiply zero padding "
                "(XLA's cost analysis skips those)"
            )
        if self.unknown_layers:
            lines.append(
                "Not understood (MACs unknown, counted as 0): " + ", ".join(self.unknown_layers)
            )
        return lines

    def to_markdown(self, human: bool = True) -> str:
        """The per-layer table as GitHub markdown, followed by the totals."""
        import pandas as pd

        table = pd.DataFrame(self._records(human)).to_markdown(index=False, disable_numparse=human)
        return table + "\n\n" + "\n".join(f"- {line}" for line in self.totals_lines()) + "\n"

    def to_text(self) -> str:
        """A plain aligned table for terminals, followed by the totals."""
        import pandas as pd

        df = pd.DataFrame(self._records(True)).drop(columns=["non-trainable"])  # in the totals
        empty = [c for c in df.columns if (df[c].astype(str) == "").all()]
        df = df.drop(columns=empty)
        align = ["left" if c in ("name", "type", "note") else "right" for c in df.columns]
        table = df.to_markdown(
            index=False, tablefmt="simple", disable_numparse=True, colalign=align
        )
        return table + "\n\n" + "\n".join(self.totals_lines()) + "\n"

    def to_csv(self) -> str:
        return self.to_dataframe().to_csv(index=False)

    def layer_records(self) -> list[dict[str, Any]]:
        """One JSON-friendly dict per layer call: raw numbers, shapes and receptive fields as
        lists (None where unknown), plus ``params`` and ``flops``."""
        out = []
        for r in self.rows:
            d = asdict(r)
            d["params"] = r.params
            d["flops"] = r.flops
            out.append(_plain(d))
        return out

    def as_dict(self) -> dict[str, Any]:
        """``{"totals": ..., "layers": layer_records()}`` (what ``--format json`` prints): the
        totals are :meth:`totals` plus ``receptive_field`` (None when not spatial)."""
        totals = {**self.totals(), "receptive_field": self.receptive_field}
        return {"totals": _plain(totals), "layers": self.layer_records()}

    def to_json(self) -> str:
        """:meth:`as_dict` as JSON text (``json.loads`` reads it back)."""
        import json

        return json.dumps(self.as_dict(), indent=1, allow_nan=False) + "\n"


def _params_line(trainable: int, non_trainable: int) -> str:
    line = (
        f"Params: {trainable + non_trainable:,} (total) = {trainable:,} trainable + "
        f"{non_trainable:,} non-trainable"
    )
    if non_trainable:
        line += " (BatchNorm statistics, frozen weights; torchvision/timm count the trainable)"
    return line


def _plain(value: Any) -> Any:
    """Tuples as lists, non-finite floats as None, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
