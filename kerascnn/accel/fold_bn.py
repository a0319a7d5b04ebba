"""BatchNorm folded into the layer before it, for inference: ``fold_batchnorm(model)``.

At inference a BatchNormalization computes ``(x - mean) * s + beta`` per channel, with
``s = gamma / sqrt(moving_variance + epsilon)`` (``gamma = 1`` when ``scale=False``, ``beta = 0``
when ``center=False``). After a linear layer ``x = conv(input) + b`` the pair is one layer: the
kernel scaled by ``s`` per output channel, the bias ``(b - mean) * s + beta``. It folds into a
Conv1D/2D/3D (``groups`` too: the kernel's last axis is the output channel), a DepthwiseConv1D/2D
(kernel ``(..., cin, multiplier)``, output channel ``c * multiplier + m``), a SeparableConv1D/2D
(its pointwise kernel) or a Dense, when that layer is exactly one of these classes, has a linear
activation, is not quantized or LoRA-enabled, is called once and its output feeds only the BN
(no other layer, not a model output), and the BN is called once on the channel axis. Every other
BN stays and is reported with its reason (pre-activation BN -> ReLU -> conv, BN after
Add/Concatenate/pooling, a conv with its own activation or feeding two layers, a BN in a nested
model). A folded BN becomes a ``keras.layers.Identity`` of its name (profiles by name line up).

Exactness: the new weights are computed in float64 NumPy from the stored variables, then cast,
so the folded model equals ``model(x, training=False)`` up to float32 rounding
(tests/test_fold_bn.py: every BN model of the zoo). It is an inference model (no batch
statistics; its weights are copies, later training of the original does not reach it); the
original is not modified. A model without BN, or not a graph (subclassed, unbuilt Sequential),
comes back as the same object with ``folded == 0`` (the latter's BNs listed in ``kept``). A layer
that cannot be rebuilt from its config (a Lambda under safe mode) is shared, not copied.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import keras
import numpy as np

_L = keras.layers
_CONVS = (_L.Conv1D, _L.Conv2D, _L.Conv3D)
_DEPTHWISE = (_L.DepthwiseConv1D, _L.DepthwiseConv2D)
_SEPARABLE = (_L.SeparableConv1D, _L.SeparableConv2D)
FOLDABLE = (*_CONVS, *_DEPTHWISE, *_SEPARABLE, _L.Dense)
"""The layer classes a following BatchNormalization folds into (exact classes, no subclasses)."""


@dataclass(frozen=True)
class FoldResult:
    """What :func:`fold_batchnorm` made: the model, and which BatchNormalizations it folded."""

    model: keras.Model
    folded_names: tuple[str, ...] = ()
    """The BatchNormalization layers folded (now Identity layers of the same names)."""
    kept: dict[str, str] = field(default_factory=dict)
    """BatchNormalization name -> why it was left as it is (nested ones as ``outer/inner``)."""

    @property
    def folded(self) -> int:
        """How many BatchNormalization layers were folded."""
        return len(self.folded_names)


def fold_batchnorm(model: keras.Model) -> FoldResult:
    """``model`` with every foldable BatchNormalization folded into the layer before it (see the
    module docstring); the original is left untouched."""
    inputs, outputs = _graph_ends(model)
    if inputs is None:
        kept = {name: "the model is not a functional graph" for name in _nested_bns(model)}
        return FoldResult(model, (), kept)
    graph = keras.Model(inputs, outputs, name=model.name)  # plain Functional, never compiled
    pairs, kept = _plan(graph)
    if not pairs:
        return FoldResult(model, (), kept)
    return FoldResult(_rebuild(graph, pairs), tuple(bn.name for bn in pairs.values()), kept)


def _graph_ends(model):
    """The input and output structures of a functional or built Sequential model, else Nones."""
    try:
        inputs, outputs = model.input, model.output
    except (AttributeError, ValueError):
        return None, None
    if inputs is None or outputs is None:
        return None, None
    return inputs, outputs


def _nested_bns(layer) -> list[str]:
    """Names of the BatchNormalizations inside ``layer`` (any depth), as ``outer/inner``."""
    found = []
    for inner in layer._flatten_layers(include_self=False, recursive=False):
        if isinstance(inner, _L.BatchNormalization):
            found.append(inner.name)
        found += [f"{inner.name}/{name}" for name in _nested_bns(inner)]
    return found


def _plan(graph):
    """``({producer name: its BN}, {kept BN name: reason})`` over the nodes of ``graph``."""
    nodes = [node for depth in graph._nodes_by_depth.values() for node in depth]
    calls = Counter(id(node.operation) for node in nodes)
    uses = Counter(id(t) for node in nodes for t in node.input_tensors)
    ends = {id(t) for t in keras.tree.flatten(graph.output)}
    pairs, kept = {}, {}
    for node in nodes:
        layer = node.operation
        if not isinstance(layer, _L.BatchNormalization):
            kept.update({f"{layer.name}/{n}": _NESTED for n in _nested_bns(layer)})
            continue
        why = _why_kept(node, calls, uses, ends)
        if why is None and node.input_tensors[0]._keras_history.operation.name in pairs:
            why = "its layer already folds another BatchNormalization"
        if why is None:
            pairs[node.input_tensors[0]._keras_history.operation.name] = layer
        else:
            kept[layer.name] = why
    return pairs, kept


_NESTED = "inside a nested model or layer (not folded)"


def _why_kept(node, calls, uses, ends) -> str | None:
    """Why the BatchNormalization of ``node`` cannot fold into its producer (None: it can)."""
    bn = node.operation
    if calls[id(bn)] != 1 or len(node.input_tensors) != 1:
        return "the BatchNormalization is called more than once"
    tensor = node.input_tensors[0]
    producer = tensor._keras_history.operation
    if type(producer) not in FOLDABLE:
        return f"follows {producer.name} ({type(producer).__name__}), not a convolution or Dense"
    if producer.activation is not keras.activations.linear:
        return f"follows {producer.name}, which has its own activation"
    if getattr(producer, "quantization_mode", None) or getattr(producer, "lora_enabled", False):
        return f"follows {producer.name}, which is quantized or LoRA-enabled"
    if calls[id(producer)] != 1:
        return f"follows {producer.name}, which is called more than once"
    if uses[id(tensor)] != 1 or id(tensor) in ends:
        return f"follows {producer.name}, whose output also feeds other layers"
    rank = len(tensor.shape)
    channels = 1 if getattr(producer, "data_format", None) == "channels_first" else rank - 1
    if bn.axis % rank != channels:
        return f"normalizes axis {bn.axis}, not the channel axis of {producer.name}"
    return None


def _rebuild(graph, pairs) -> keras.Model:
    """A copy of ``graph``: each producer of ``pairs`` with a bias and folded weights, its BN an
    Identity, every other layer a fresh copy with the same weights."""
    bns = {bn.name for bn in pairs.values()}
    made = {}

    def clone(layer):
        if layer.name in bns:
            new = _L.Identity(name=layer.name)
        elif layer.name in pairs:
            new = type(layer).from_config({**layer.get_config(), "use_bias": True})
        else:
            try:
                new = type(layer).from_config(layer.get_config())
            except Exception:  # not rebuildable from its config: shared, not copied
                new = layer
        made[layer.name] = (layer, new)
        return new

    def call(layer, *args, **kwargs):  # an Identity takes no BN keywords (training, mask)
        return layer(args[0]) if layer.name in bns else layer(*args, **kwargs)

    folded = keras.models.clone_model(graph, clone_function=clone, call_function=call)
    for name, (old, new) in made.items():
        if name in pairs:
            _set_folded(old, pairs[name], new)
        elif new is not old and name not in bns:
            new.set_weights(old.get_weights())
    return folded


def _f64(variable) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


def _set_folded(layer, bn, new) -> None:
    """``new``'s kernel and bias: ``layer``'s with ``bn`` folded in (float64, then cast)."""
    mean, var = _f64(bn.moving_mean), _f64(bn.moving_variance)
    gamma = _f64(bn.gamma) if bn.scale else np.ones_like(mean)
    beta = _f64(bn.beta) if bn.center else np.zeros_like(mean)
    s = gamma / np.sqrt(var + bn.epsilon)
    bias = _f64(layer.bias) if layer.use_bias else np.zeros_like(mean)
    if isinstance(layer, _SEPARABLE):
        _assign(new.depthwise_kernel, _f64(layer.depthwise_kernel))
        _assign(new.pointwise_kernel, _f64(layer.pointwise_kernel) * s)
    else:
        kernel = _f64(layer.kernel)
        if isinstance(layer, _DEPTHWISE):  # (..., cin, multiplier): channel c * mult + m
            kernel = kernel * s.reshape(kernel.shape[-2:])
        else:  # the last axis is the output channel (Dense, Conv with or without groups)
            kernel = kernel * s
        _assign(new.kernel, kernel)
    _assign(new.bias, (bias - mean) * s + beta)


def _assign(variable, value: np.ndarray) -> None:
    dtype = keras.backend.standardize_dtype(variable.dtype)
    value = value.astype(dtype if dtype in ("float16", "float32", "float64") else "float32")
    variable.assign(value)
