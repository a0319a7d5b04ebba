"""The defaults every block shares, written once: they are the zoo's.

A block's default is what the zoo's builders use for it, so a block (or the public layer made
from it) called with its defaults is the block inside our models:

``BN_MOMENTUM = 0.9``
    Keras convention (``moving = m * moving + (1 - m) * batch``), i.e. PyTorch's
    ``momentum=0.1``. Every family uses it; keras.applications keeps 0.99, whose moving
    statistics lag far behind the weights in short runs (a DenseNet trained 4 epochs on 3,000
    Fashion-MNIST images reached 0.49 training loss but chance accuracy in inference mode).
    Momentum is not a weight: parameter counts and outputs with loaded weights do not depend
    on it. ``resnet(style="keras")`` passes 0.99 for keras.applications' exact setting.
``BN_EPSILON = 1e-5``
    PyTorch's default: torchvision's ResNet and VGG-BN (the residual and VGG blocks).
``KERAS_BN_EPSILON = 1.001e-5``
    keras.applications' ResNet and DenseNet: ``conv_bn_act``, ``bn_act`` and the DenseNet
    blocks (so DenseNet-121 takes keras.applications' weights with identical outputs).
``MOBILE_BN_EPSILON = 1e-3``
    keras.applications' MobileNet, MobileNetV2 and EfficientNet, torchvision's GoogLeNet: the
    depthwise-separable, inverted-residual and inception blocks (also Keras' own
    BatchNormalization default, which the course nets and ``allconv_bn`` use).

Convolution bias: a conv followed by BatchNormalization has none (``use_bias=None`` means
``not use_bn``: BN's offset does the bias's work); VGG-BN keeps torchvision's conv bias.

Padding: Keras' ``"same"`` (the odd pixel of a strided conv goes right/bottom), except that the
residual blocks pad a strided k x k conv by ``k // 2`` on every side, PyTorch's way (torchvision's
ResNet, whose weights and figures we match); an int ``padding=p`` does that for any conv block.
"""

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
KERAS_BN_EPSILON = 1.001e-5
MOBILE_BN_EPSILON = 1e-3
