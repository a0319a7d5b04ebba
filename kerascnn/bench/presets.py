"""The main job's settings (``kerascnn bench`` with no --suite); benchmarks/quick.toml spells out the same.

Chosen so that ``kerascnn bench --models lenet,vgg,mobilenetv2`` trains all three on the
embedded Fashion-MNIST subset (6,000 train / 1,000 test images) within a few minutes on two
CPU cores: VGG-11 and MobileNetV2 cost ~100 M MACs per 28x28 image, LeNet 0.4 M, so LeNet
gets 10 epochs (its whole training takes seconds). On CPU, VGG-11 trains ~3x faster per image
than MobileNetV2 (dense 3x3 convs vs depthwise), so VGG-11 gets 3 epochs and MobileNetV2 one.
Measured on the shared 2-core development machine (make bench, 219 s for the suite): LeNet
0.811, VGG-11 0.782 (one epoch: 0.53-0.57), MobileNetV2 0.740 test accuracy.
"""

QUICK = {
    "name": "quick",
    "description": (
        "The main job: LeNet-5, VGG-11 and MobileNetV2 trained briefly on the embedded "
        "Fashion-MNIST subset (6,000 train / 1,000 test images). A smoke-scale comparison "
        "that finishes in minutes on 2 CPU cores; see reports/fashion-cpu for full training."
    ),
    "models": ["lenet", "vgg", "mobilenetv2"],
    "datasets": ["fashion_mnist_mini"],
    "epochs": 1,
    "batch_size": 64,
    "optimizer": "adam",
    "learning_rate": 0.001,
    "schedule": "cosine",
    "warmup_epochs": 0.25,
    "seeds": [0],
    "latency_batch": 32,
    "latency_seconds": 1.0,
    "overrides": {"lenet": {"epochs": 10}, "vgg": {"epochs": 3}},
}
