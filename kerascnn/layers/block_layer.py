"""BlockLayer: a public Keras layer made from a block function of :mod:`kerascnn.blocks`.

The block function is the one implementation. A subclass names it (``block = staticmethod(
basic_block)``) and gets a layer whose

- constructor takes the block's arguments (its signature, checked by the block's own
  validators at construction) plus the usual layer keywords (``name``, ``dtype``, ...);
- ``build(input_shape)`` calls the block on a ``keras.Input`` of that shape, under the layer's
  dtype policy, and keeps the resulting functional graph as ``self.graph`` (its layers are
  named ``f"{layer.name}_..."``, exactly as in the zoo);
- ``call`` runs that graph; ``get_config`` returns the block's arguments (``from_config``
  rebuilds the same layer; weights load through the graph);
- ``count_macs``, ``count_other_ops`` and ``receptive_field`` are :func:`kerascnn.analysis.profile`
  of the block's graph at the given input shape: the same numbers as the block's rows in a
  profile of a zoo model, never a second hand-written formula.

Make your own::

    @keras.saving.register_keras_serializable(package="my_project")
    class MyBlock(BlockLayer):
        block = staticmethod(my_block_function)  # decorated with kerascnn.blocks._block.block
"""

from __future__ import annotations

import inspect

import keras

from kerascnn._dtype import dtype_policy_scope
from kerascnn.errors import ArgumentError


class BlockLayer(keras.layers.Layer):
    """Base class of the layers made from a block function (see the module docstring).

    Input: 4D channels-last ``(batch, height, width, channels)`` with a known channel count.
    """

    block = None  # the block function: staticmethod(fn) in subclasses

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("block")
        if fn is not None:
            fn = fn.__func__ if isinstance(fn, staticmethod) else fn
            params = list(fn.signature.parameters.values())
            layer_kw = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
            cls.__signature__ = inspect.Signature([*params, layer_kw])

    def __init__(self, *args, **kwargs):
        fn = type(self).block
        block_kwargs = {k: kwargs.pop(k) for k in fn.arguments if k in kwargs}
        try:
            super().__init__(**kwargs)  # name, dtype, trainable, ...
        except ValueError as exc:  # Keras: "Unrecognized keyword arguments passed to ..."
            raise ArgumentError(
                f"{type(self).__name__}: {exc}. Accepted arguments: {', '.join(fn.arguments)} and "
                f"the Keras layer keywords (name, dtype, trainable). Received: {kwargs!r}"
            ) from None
        self.block_config = fn.validate(*args, owner=type(self).__name__, **block_kwargs)
        for key, value in self.block_config.items():
            setattr(self, key, value)
        self.graph = None
        self._build_shape = None

    # --------------------------------------------------------------- the graph

    def _check_input_shape(self, input_shape, *, need_spatial: bool = False) -> tuple:
        shape = tuple(input_shape)
        if len(shape) != 4 or shape[-1] is None:
            raise ArgumentError(
                f"{type(self).__name__} expects 4D channels-last input (batch, height, width, "
                f"channels) with a known number of channels. Received: input_shape={shape}"
            )
        if need_spatial and (shape[1] is None or shape[2] is None):
            raise ArgumentError(
                f"{type(self).__name__}: height and width must be known to count MACs or the "
                f"receptive field. Received: input_shape={shape}"
            )
        return shape

    def make_graph(self, input_shape) -> keras.Model:
        """The block's functional graph on an input of ``input_shape`` (batch axis included)."""
        shape = self._check_input_shape(input_shape)
        with dtype_policy_scope(self.dtype_policy):
            inputs = keras.Input(shape=shape[1:], name=f"{self.name}_input")
            outputs = type(self).block(inputs, **self.block_config, name=self.name)
        return keras.Model(inputs, outputs, name=f"{self.name}_graph")

    def _graph_for(self, input_shape) -> keras.Model:
        if self.graph is not None and tuple(input_shape)[1:] == self._build_shape[1:]:
            return self.graph
        return self.make_graph(input_shape)

    def build(self, input_shape):
        self._build_shape = self._check_input_shape(input_shape)
        self.graph = self.make_graph(self._build_shape)

    def call(self, inputs, training=None):
        return self.graph(inputs, training=training)

    def compute_output_shape(self, input_shape):
        out = self._graph_for(input_shape).output.shape
        return (tuple(input_shape)[0],) + tuple(out[1:])

    def get_config(self):
        config = super().get_config()
        for key, value in self.block_config.items():
            if isinstance(value, keras.initializers.Initializer):
                value = keras.initializers.serialize(value)
            config[key] = value
        return config

    # --------------------------------------------------------------- analysis protocol

    def _profile(self, input_shape):
        from kerascnn.analysis import profile

        shape = self._check_input_shape(input_shape, need_spatial=True)
        return profile(self._graph_for(shape))

    def count_macs(self, input_shape) -> int:
        """Multiply-accumulates per sample of the block's convs and dense layers at
        ``input_shape`` (batch axis included, e.g. ``(None, 32, 32, 3)``)."""
        return int(self._profile(input_shape).total_macs)

    def count_other_ops(self, input_shape) -> int:
        """BatchNorm, activation, pooling and merge operations per sample (the profile's
        "other ops")."""
        return int(self._profile(input_shape).other_ops)

    def receptive_field(self, input_shape=None):
        """``(kernel, stride, left_padding)`` of the whole block seen as one convolution.

        Each is a (height, width) pair, as Keras writes ``kernel_size`` and ``strides``:
        ``kernel`` is how many input pixels one output pixel sees, ``stride`` the input pixels
        between neighbouring outputs, ``left_padding`` how far output 0's window starts before
        the first input pixel. "same" padding depends on the input size, so this takes
        ``input_shape`` (default: the shape the layer was built with).
        """
        shape = input_shape if input_shape is not None else self._build_shape
        if shape is None:
            raise ArgumentError(
                f"{type(self).__name__}.receptive_field needs the input shape (or a built "
                f"layer). Received: input_shape=None"
            )
        row = self._profile(shape).rows[-1]
        return tuple(row.rf_size), tuple(row.rf_jump), tuple(-s for s in row.rf_start)
