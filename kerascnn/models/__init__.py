"""Model builders, one module per family; importing this package registers every model.

Use :func:`kerascnn.create_model`, or import a variant directly (a callable with the builder's
keywords as its signature)::

    from kerascnn import create_model
    model = create_model("lenet", input_shape=(28, 28, 1), num_classes=10)
    from kerascnn.models import resnet18
    model = resnet18(input_shape=(32, 32, 3), num_classes=10)
"""

from kerascnn.models._registry import (
    DEFAULT_RECIPE,
    ModelInfo,
    Recipe,
    create_model,
    list_models,
    model_info,
    parse_spec,
    register_alias,
    register_model,
)
from kerascnn.models._variant import variant
from kerascnn.models.alexnet import alexnet
from kerascnn.models.allconv import allconv, allconv_bn
from kerascnn.models.course import cifar_cnn, simple_cnn, simple_convnet
from kerascnn.models.densenet import densenet121
from kerascnn.models.efficientnet import efficientnet_b0
from kerascnn.models.googlenet import googlenet
from kerascnn.models.lenet import lenet
from kerascnn.models.mobilenet import mobilenet, mobilenetv2
from kerascnn.models.nin import nin
from kerascnn.models.resnet import resnet18, resnet34, resnet50, resnet101, seresnet18, seresnet50
from kerascnn.models.vgg import (
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

__all__ = [
    "DEFAULT_RECIPE",
    "ModelInfo",
    "Recipe",
    "create_model",
    "list_models",
    "model_info",
    "parse_spec",
    "register_alias",
    "register_model",
    "variant",
    "alexnet",
    "allconv",
    "allconv_bn",
    "cifar_cnn",
    "densenet121",
    "efficientnet_b0",
    "googlenet",
    "lenet",
    "mobilenet",
    "mobilenetv2",
    "nin",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "seresnet18",
    "seresnet50",
    "simple_cnn",
    "simple_convnet",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]
