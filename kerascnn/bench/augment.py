"""On-the-fly augmentation of a benchmark run (imports Keras: run-time only).

Flip/translate/crop/erasing are Keras preprocessing layers in front of the model, inside the
training graph and inactive at inference (:func:`augment_model`); MixUp/CutMix mix labels too,
so they run on each batch of a ``keras.utils.PyDataset`` (:class:`BatchStream`, which also feeds
the budget/steps protocols). The model that is evaluated, timed and saved is the plain model
without those layers.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers

from kerascnn.errors import ArgumentError

MIXING = ("mixup", "cutmix")


@keras.saving.register_keras_serializable(package="kerascnn")
class PadRandomCrop(keras.layers.Layer):
    """Zero-pad by ``pad`` pixels, then crop back to ``height`` x ``width`` at a random offset
    drawn for every image (training only; identity at inference), as torchvision's
    ``RandomCrop(size, padding)`` does.

    ``keras.layers.RandomCrop`` draws one offset per call, so a batch would move as one; and it
    returns its padded input unchanged at inference, so the padding must live inside the same
    training-only branch. Here each image's offsets (0 .. 2 * pad, per axis) index the padded
    batch directly.
    """

    def __init__(self, height: int, width: int, pad: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.pad, self.seed = int(height), int(width), int(pad), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):  # no weights (the seed generator holds the random state)
        self.built = True

    def call(self, x, training=None):
        if not training:
            return x
        ops, p = keras.ops, self.pad
        padded = ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])
        n, c = ops.shape(x)[0], ops.shape(x)[-1]
        dy = keras.random.randint((n, 1), 0, 2 * p + 1, seed=self.seed_generator)
        dx = keras.random.randint((n, 1), 0, 2 * p + 1, seed=self.seed_generator)
        rows = dy + ops.arange(self.height, dtype="int32")[None]  # (n, height) padded rows
        cols = dx + ops.arange(self.width, dtype="int32")[None]
        rows = ops.broadcast_to(rows[:, :, None, None], (n, self.height, self.width + 2 * p, c))
        out = ops.take_along_axis(padded, rows, axis=1)
        cols = ops.broadcast_to(cols[:, None, :, None], (n, self.height, self.width, c))
        return ops.take_along_axis(out, cols, axis=2)

    def compute_output_shape(self, shape):
        return shape

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "pad": self.pad,
            "seed": self.seed,
        }


def augmentation_layers(augment: list[str], input_shape, seed: int) -> list[keras.layers.Layer]:
    """The preprocessing layers for the per-image entries of ``augment`` (MixUp/CutMix aside)."""
    h, w = int(input_shape[0]), int(input_shape[1])
    out: list[keras.layers.Layer] = []
    if "flip" in augment:
        out.append(layers.RandomFlip("horizontal", seed=seed))
    if "translate" in augment:
        out.append(layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed))
    if "crop" in augment:  # pad by 1/8 of the size, crop back
        out.append(PadRandomCrop(h, w, max(1, h // 8), seed=seed, name="pad_random_crop"))
    if "erasing" in augment:
        out.append(layers.RandomErasing(value_range=(0.0, 1.0), seed=seed))
    return out


def augment_model(model, augment: list[str], input_shape, seed: int):
    """The training-time wrapper: preprocessing layers, then ``model`` (weights shared)."""
    aug = augmentation_layers(augment, input_shape, seed)
    if not aug:
        return model
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for layer in aug:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_train")


def mixing_kind(augment: list[str]) -> str | None:
    """``"mixup"`` or ``"cutmix"`` when ``augment`` asks for one, else None."""
    return next((a for a in augment if a in MIXING), None)


class BatchStream(keras.utils.PyDataset):
    """Full batches of ``(x, y_onehot)`` from a seeded stream of shuffles, optionally mixed.

    The stream runs through one permutation of the data after another (pass ``p`` is shuffled
    by ``default_rng([seed, p])``), cut into batches of ``batch_size``; a batch that reaches the
    end of a pass is completed from the next. Item ``i`` is stream batch ``i``: the batches
    depend only on the seed and the step, never on how Keras cuts the run into epochs (fit it
    with ``steps_per_epoch``: Keras then keeps one iterator across its epochs) nor on when its
    prefetching thread asks for them, so a budget run and its ``--steps`` repeat see the same
    data. ``steps`` (the length) defaults to one pass; ``mix`` is ``"mixup"``, ``"cutmix"``
    or None. ``shard=(k, n)``: item ``i`` is the ``k``-th of ``n`` equal parts of stream batch
    ``i`` (after mixing), process ``k``'s share of a global batch in a multi-process run.
    """

    def __init__(
        self,
        x,
        y_onehot,
        batch_size: int,
        seed: int,
        *,
        steps: int | None = None,
        mix: str | None = None,
        shard: tuple[int, int] = (0, 1),
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not (0 <= shard[0] < shard[1] and batch_size % shard[1] == 0):
            raise ArgumentError(
                f"shard=(k, n) needs 0 <= k < n and a batch size divisible by n. "
                f"Received: shard={shard}, batch_size={batch_size}"
            )
        self.shard = (int(shard[0]), int(shard[1]))
        if mix is not None and mix not in MIXING:
            raise ArgumentError(f"mix must be one of {list(MIXING)} or None. Received: mix={mix!r}")
        self.x, self.y, self.batch_size, self.seed = x, y_onehot, int(batch_size), int(seed)
        self.steps = int(steps or math.ceil(len(x) / self.batch_size))
        self.mix = mix
        self.layer = None
        if mix is not None:
            self.layer = layers.MixUp(seed=seed) if mix == "mixup" else layers.CutMix(seed=seed)
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self):
        return self.steps

    def _permutation(self, p: int) -> np.ndarray:
        if p not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            self._perms[p] = np.random.default_rng([self.seed, p]).permutation(len(self.x))
        return self._perms[p]

    def indices(self, step: int) -> np.ndarray:
        """The image indices of stream batch ``step``."""
        n, need = len(self.x), self.batch_size
        p, offset = divmod(step * need, n)
        parts = []
        while need > 0:
            take = self._permutation(p)[offset : offset + need]
            parts.append(take)
            need -= len(take)
            p, offset = p + 1, 0
        return np.concatenate(parts)

    def __getitem__(self, i):
        idx = self.indices(int(i))
        x, y = self.x[idx], self.y[idx]
        if self.layer is not None:
            out = self.layer({"images": x, "labels": y}, training=True)
            x = keras.ops.convert_to_numpy(out["images"])
            y = keras.ops.convert_to_numpy(out["labels"])
        k, n = self.shard
        if n == 1:
            return x, y
        part = slice(k * self.batch_size // n, (k + 1) * self.batch_size // n)
        return x[part], y[part]
