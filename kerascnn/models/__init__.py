"""Model builders, one module per family. Importing this package registers every model.

Use :func:`kerascnn.create_model` (or the family modules directly)::

    from kerascnn import create_model
    model = create_model("lenet", input_shape=(28, 28, 1), num_classes=10)
"""

# Each import registers that family's variants with kerascnn.registry.
from kerascnn.models import lenet  # noqa: F401
# -- family modules register here (one import line each) --
from kerascnn.models import resnet  # noqa: F401
from kerascnn.models import densenet  # noqa: F401
from kerascnn.models import mobilenet  # noqa: F401
from kerascnn.models import efficientnet  # noqa: F401
from kerascnn.models import allconv  # noqa: F401
from kerascnn.models import course  # noqa: F401
from kerascnn.models import vgg  # noqa: F401
from kerascnn.models import alexnet  # noqa: F401
from kerascnn.models import nin  # noqa: F401
from kerascnn.models import googlenet  # noqa: F401
