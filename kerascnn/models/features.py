"""``features_only=True``: a backbone that returns its feature map at every stride (timm's habit).

The feature at a stride is the output of the last layer, in graph order, whose map is that many
times smaller than the input and through which every path of the graph passes (no shortcut
bypasses it): the end of a stage, before the network downsamples again (ResNet-50: the stage
outputs ``conv2_block3_out`` .. ``conv5_block3_out`` at strides 4-32 and the stem's ReLU at 2;
MobileNetV2: the expansions ``block1_expand_relu6``, ``block3_...``, the maps the U-Net and
DeepLab examples tap). Padding layers are skipped: they only make room for a strided layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import keras

from kerascnn.errors import ArgumentError

SKIPPED = (keras.layers.InputLayer, keras.layers.ZeroPadding2D)


@dataclass(frozen=True)
class FeatureMap:
    """One feature map of a backbone: the layer it comes from, its stride and channels."""

    layer: str
    reduction: int
    channels: int


class FeatureInfo(Sequence):
    """The feature maps of a backbone, in stride order: timm's ``FeatureInfo``.

    A read-only sequence of :class:`FeatureMap` (``info[1].layer``, ``info[-2:]``, ``len(info)``,
    ``for f in info`` work as on a list, and it equals the list of its maps), with timm's
    accessors, each a list over the maps, or one value for an index::

        info.channels()     # [64, 256, 512, 1024, 2048]  (ResNet-50)
        info.reduction()    # [2, 4, 8, 16, 32]
        info.module_name()  # ['resnet50_conv1_relu', 'resnet50_conv2_block3_out', ...]
        info.channels(-1)   # 2048

    ``out_indices``: the indices of these maps among all of the backbone's (timm's attribute).
    Not a ``list`` subclass on purpose: Keras would turn a list set on a model into its own
    tracked list, losing these methods.
    """

    def __init__(self, maps: Iterable[FeatureMap] = (), out_indices=None) -> None:
        self._maps = tuple(maps)
        self.out_indices = tuple(range(len(self._maps)) if out_indices is None else out_indices)

    def __len__(self) -> int:
        return len(self._maps)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return FeatureInfo(self._maps[index], self.out_indices[index])
        return self._maps[index]

    def __eq__(self, other) -> bool:
        if isinstance(other, (FeatureInfo, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, like them unhashable

    def __repr__(self) -> str:
        return f"FeatureInfo({list(self._maps)!r})"

    def get(self, key: str, idx: int | Sequence[int] | None = None):
        """``key`` (``"layer"``, ``"reduction"`` or ``"channels"``; timm's ``"module"`` and
        ``"num_chs"`` too) of every map, of the maps at ``idx`` (a list), or of one index."""
        field_name = {"module": "layer", "num_chs": "channels"}.get(key, key)
        if field_name not in ("layer", "reduction", "channels"):
            raise ArgumentError(
                f"FeatureInfo.get: key must be 'layer', 'reduction' or 'channels' (timm: "
                f"'module', 'num_chs'). Received: key={key!r}"
            )
        if isinstance(idx, int):
            return getattr(self._maps[idx], field_name)
        maps = self._maps if idx is None else [self._maps[i] for i in idx]
        return [getattr(f, field_name) for f in maps]

    def channels(self, idx: int | Sequence[int] | None = None):
        """The channels of each map (timm's ``num_chs``)."""
        return self.get("channels", idx)

    def reduction(self, idx: int | Sequence[int] | None = None):
        """The stride of each map relative to the input."""
        return self.get("reduction", idx)

    def module_name(self, idx: int | Sequence[int] | None = None):
        """The name of the layer each map comes from (``model.get_layer(name)``)."""
        return self.get("layer", idx)

    def get_dicts(self) -> list[dict]:
        """timm's dicts, one per map: ``{"module", "num_chs", "reduction"}``."""
        return [{"module": f.layer, "num_chs": f.channels, "reduction": f.reduction} for f in self]


def feature_info(model) -> FeatureInfo:
    """The feature maps of ``model`` (built at a known input size), one per stride, in order."""
    height = model.inputs[0].shape[1]
    if height is None:
        raise ArgumentError(
            f"feature_info needs a model built at a known input size to measure strides. "
            f"Received: {model.name!r} with input shape {tuple(model.inputs[0].shape)}"
        )
    last: dict[int, FeatureMap] = {}
    for layer in _cut_layers(model):
        out = layer.output
        if isinstance(layer, SKIPPED) or len(getattr(out, "shape", ())) != 4:
            continue
        size = out.shape[1]
        reduction = 2 ** round(math.log2(height / size)) if size else None
        if reduction:
            last[reduction] = FeatureMap(layer.name, reduction, int(out.shape[-1]))
    return FeatureInfo(last[r] for r in sorted(last))


def _cut_layers(model):
    """The layers, in graph order, whose output is the only value still needed after them."""
    layers = model.layers
    producer = {id(layer.output): layer.name for layer in layers}

    def sources(layer):
        if isinstance(layer, keras.layers.InputLayer):
            return []
        return [producer[id(t)] for t in keras.tree.flatten(layer.input) if id(t) in producer]

    uses: dict[str, int] = {}
    for layer in layers:
        for src in sources(layer):
            uses[src] = uses.get(src, 0) + 1
    live: set[str] = set()
    for layer in layers:
        for src in sources(layer):
            uses[src] -= 1
            if not uses[src]:
                live.discard(src)
        if uses.get(layer.name):
            live.add(layer.name)
        if live <= {layer.name}:
            yield layer


def features_model(model, out_indices=None, *, probe=None) -> keras.Model:
    """``model``'s feature maps as outputs (``out_indices`` picks some, as in timm).

    ``probe``: the same network built at a known input size, when ``model``'s height and width
    are None (strides are measured on it; the layer names are the same).
    """
    info = feature_info(probe if probe is not None else model)
    if out_indices is None:
        chosen = info
    else:
        ok = isinstance(out_indices, (list, tuple)) and all(
            isinstance(i, int) and not isinstance(i, bool) and -len(info) <= i < len(info)
            for i in out_indices
        )
        if not ok or not out_indices:
            raise ArgumentError(
                f"{model.name}: out_indices must be a non-empty list of indices into its "
                f"{len(info)} feature maps (strides {[f.reduction for f in info]}). "
                f"Received: out_indices={out_indices!r}"
            )
        chosen = FeatureInfo((info[i] for i in out_indices), (i % len(info) for i in out_indices))
    outputs = [model.get_layer(f.layer).output for f in chosen]
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    features = keras.Model(inputs, outputs, name=f"{model.name}_features")
    features.feature_info = chosen  # a plain attribute (timm's name); not saved with the model
    return features
