"""The keras.applications keywords every registered variant takes, applied in one place.

A builder takes ``input_shape``, ``input_tensor``, ``num_classes``, ``include_top``,
``pooling``, ``classifier_activation`` and ``name`` itself (they shape its graph). Around it,
:func:`kerascnn.models._registry.variant` adds the keywords that only rename or finish a built model:

- ``classes``: keras.applications' name for ``num_classes`` (both given and different: error);
- ``weights``: None, a path to a ``.keras`` / ``.weights.h5`` file (checked layer by layer,
  :mod:`kerascnn.models.weights`), or ``"imagenet"`` for the variants whose layout equals
  keras.applications (VGG16/19, ResNet50/101 with ``style="keras"``, DenseNet121, MobileNet,
  MobileNetV2), loaded from keras.applications' own file in the Keras cache;
- ``features_only`` (and ``out_indices``): the backbone's feature map at every stride
  (:mod:`kerascnn.models.features`), timm's API for detection and segmentation heads.

``num_classes=0`` (or ``classes=0``), timm's "no classifier", is resolved by the builder
(:func:`kerascnn.models._common.common_args`): pooled features, the graph of
``include_top=False, pooling="avg"``, so ``weights="imagenet"`` loads the ``notop`` file.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from kerascnn.errors import ArgumentError
from kerascnn.models._registry import list_models, model_info

APPLICATION_PARAMETERS = (
    inspect.Parameter("classes", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("weights", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("features_only", inspect.Parameter.KEYWORD_ONLY, default=False),
    inspect.Parameter("out_indices", inspect.Parameter.KEYWORD_ONLY, default=None),
)
APPLICATION_KEYWORDS = tuple(p.name for p in APPLICATION_PARAMETERS)
IMAGENET_CLASSES = 1000


def imagenet_models() -> list[str]:
    """The registered variants that load keras.applications' ImageNet weights."""
    return [n for n in list_models() if getattr(model_info(n).builder, "imagenet", None)]


def _merge_classes(name: str, given: dict[str, Any], kwargs: dict[str, Any]) -> None:
    classes = given.get("classes")
    if classes is None:
        return
    if "num_classes" in given and given["num_classes"] != classes:
        raise ArgumentError(
            f"{name}: classes is keras.applications' name for num_classes; give one of them, or "
            f"the same value. Received: classes={classes!r}, num_classes={given['num_classes']!r}"
        )
    kwargs["num_classes"] = classes


def _features_settings(name: str, given: dict[str, Any], kwargs: dict[str, Any]) -> None:
    if given.get("include_top"):
        raise ArgumentError(
            f"{name}: features_only=True returns the backbone's feature maps, without a "
            f"classifier; leave include_top out (or False). Received: include_top=True"
        )
    if given.get("pooling") is not None:
        raise ArgumentError(
            f"{name}: features_only=True returns unpooled feature maps; leave pooling out. "
            f"Received: pooling={given['pooling']!r}"
        )
    kwargs["include_top"] = False


def _as_built(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` as the builder reads them: ``num_classes=0`` with the top is the top without
    a classifier, keras.applications' ``include_top=False`` with ``pooling="avg"``."""
    if kwargs.get("include_top", True) and kwargs.get("num_classes") == 0:
        return {**kwargs, "include_top": False, "pooling": kwargs.get("pooling") or "avg"}
    return kwargs


def _imagenet_file(name: str, imagenet: Callable | None, kwargs: dict[str, Any]):
    if imagenet is None:
        raise ArgumentError(
            f"{name}: weights='imagenet' is available for the builders whose layout equals "
            f"keras.applications: {', '.join(imagenet_models())}. Pass weights=None or a path "
            f"to a .keras / .weights.h5 file. Received: weights='imagenet'"
        )
    if kwargs.get("include_top") and kwargs.get("num_classes") != IMAGENET_CLASSES:
        raise ArgumentError(
            f"{name}: weights='imagenet' with include_top=True needs the ImageNet classifier, "
            f"classes=1000; use include_top=False for another number of classes. "
            f"Received: classes={kwargs.get('num_classes')!r}"
        )
    return imagenet(kwargs)


def build_application(
    name: str,
    build: Callable[..., Any],
    given: dict[str, Any],
    defaults: dict[str, Any],
    *,
    imagenet: Callable | None = None,
):
    """Build with ``build(**kwargs)`` and apply the application keywords of ``given`` (the
    caller's keywords; ``defaults`` are the variant's own, the builder's keywords overlaid)."""
    from kerascnn.models.features import features_model
    from kerascnn.models.weights import imagenet_path, load_weights

    kwargs = {k: v for k, v in {**defaults, **given}.items() if k not in APPLICATION_KEYWORDS}
    _merge_classes(name, given, kwargs)
    features_only = given.get("features_only", False)
    if not isinstance(features_only, bool):
        raise ArgumentError(
            f"{name}: features_only must be True or False. Received: {features_only!r}"
        )
    if features_only:
        _features_settings(name, given, kwargs)
    elif given.get("out_indices") is not None:
        raise ArgumentError(
            f"{name}: out_indices picks feature maps, so it needs features_only=True. "
            f"Received: out_indices={given['out_indices']!r}"
        )
    weights = given.get("weights")
    path = None
    if isinstance(weights, str) and weights == "imagenet":
        path = imagenet_path(name, _imagenet_file(name, imagenet, _as_built(kwargs)))
    elif weights is not None:
        path = weights
    model = build(**kwargs)
    if path is not None:
        load_weights(model, path)
    if not features_only:
        return model
    probe = None
    if None in tuple(model.inputs[0].shape[1:3]):  # strides are measured at a known size
        probe = build(**{**kwargs, "input_tensor": None, "input_shape": _probe_shape(name, model)})
    return features_model(model, given.get("out_indices"), probe=probe)


def _probe_shape(name: str, model) -> tuple[int, int, int]:
    """The variant's canonical height and width (the layout a None size plans for)."""
    height, width = model_info(name).input_shape[:2]
    return (height, width, int(model.inputs[0].shape[-1]))
