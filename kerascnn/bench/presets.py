"""The main job's settings (``kerascnn bench`` with no --suite); benchmarks/main-job.toml spells out the same.

``kerascnn bench --models lenet,vgg,mobilenetv2`` trains all three on the embedded
Fashion-MNIST subset (6,000 train / 1,000 test images) under the equal-budget protocol: every
model gets the same 30 seconds of training on this machine (its steps calibrated, its
learning-rate schedule sized to them, the steps stored so ``--steps N`` repeats the run
elsewhere). A model is compared with the others at equal training time, not at the number of
epochs someone chose for it: LeNet (0.4 M MACs per 28x28 image) sees many epochs in that time,
VGG-11 and MobileNetV2 (~100 M MACs) about one or less, and the report's accuracy-vs-time plot
shows where each curve stands, with a model still rising at the end marked as such.
"""

QUICK = {
    "name": "main-job",
    "description": (
        "The main job: LeNet-5, VGG-11 and MobileNetV2 trained on the embedded Fashion-MNIST "
        "subset (6,000 train / 1,000 test images) for an equal training budget "
        "each (30 s by default). A smoke-scale comparison at equal training time that finishes in "
        "minutes on 2 CPU cores; see reports/fashion-cpu for full training."
    ),
    "models": ["lenet", "vgg", "mobilenetv2"],
    "datasets": ["fashion_mnist_mini"],
    "budget": 30.0,
    "eval_points": 4,
    "batch_size": 64,
    "schedule": "cosine",
    "seeds": [0],
    "latency_batch": 32,
    "latency_seconds": 1.0,
}

# What QUICK's name and description speak of: a flag that changes one of these makes the run
# another benchmark, which must not be reported as the main job.
DESCRIBED_KEYS = (
    "models",
    "datasets",
    "budget",
    "steps",
    "epochs",
    "image_size",
    "train_limit",
    "test_limit",
)


def main_job(flags: dict):
    """The main job's BenchConfig with the command line's ``flags`` applied (None = not given).

    While the flags leave what QUICK's description states unchanged, the run keeps its name
    ("main-job") and description; otherwise it is named "bench" and described by its own settings
    only (the report's command, dataset and training lines)."""
    from kerascnn.bench.config import BenchConfig

    main = BenchConfig.from_dict(QUICK)
    cfg = main.updated(**flags)
    if any(getattr(cfg, key) != getattr(main, key) for key in DESCRIBED_KEYS):
        cfg = cfg.updated(name="bench", description="")
    return cfg
