"""The parts of a stored run record (:class:`kerascnn.record.run.RunRecord`): plain dataclasses.

Where a run ran (:class:`Environment`), on what (:class:`DatasetInfo`), how long it trained
(:class:`ProtocolInfo`, :class:`Calibration`), what it measured (:class:`TrainStats`,
:class:`CurvePoint`, :class:`EvalMetrics`, :class:`Latency`, :class:`InferenceTimings`, ...).
A field added to a part after schema 1 is declared with :func:`later`: it defaults to None, so
older records still read, and is left out of the file while it is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LATER = {"omit_when_none": True}
"""Metadata of a field added after schema 1: left out of the file while it is None, so the
records written before it keep their layout."""


def later():
    """A field added after schema 1 (default None, see :data:`LATER`)."""
    return field(default=None, metadata=LATER)


@dataclass
class GitInfo:
    commit: str | None
    dirty: bool | None


@dataclass
class Environment:
    """Where the numbers came from: backend, versions, device, CPUs, commit, command line."""

    backend: str
    versions: dict[str, str]
    device: str
    """``"CPU: <model>"`` or ``"GPU: <name> (xN)"`` (see ``kerascnn.measure.environment.device_name``)."""
    cpu: str | None = None
    logical_cpus: int | None = None
    usable_cpus: int | None = None
    platform: str | None = None
    hostname: str | None = None
    git: GitInfo | None = None
    command: str | None = None
    load_average_at_start: list[float] | None = None


@dataclass
class DatasetInfo:
    name: str
    source: str
    input_shape: list[int]
    num_classes: int
    class_names: list[str]
    train_images: int
    """Images used (after ``train_limit``)."""
    test_images: int
    full_train_images: int | None = None
    full_test_images: int | None = None
    image_size: list[int] | None = later()
    """[height, width] the models saw (``--image-size``); None: the images' own size."""
    aspect: str | None = later()
    split: str | None = later()
    """How train and test were made when the source had no test split (or which it had)."""
    skipped_files: list[str] | None = later()
    """Files of an image folder skipped as unreadable (``--skip-bad-images``)."""
    normalization: dict[str, list[float]] | None = later()
    """``{"mean": [...], "std": [...]}`` per channel of the training images when the models'
    inputs were normalized (``--normalize per_channel``), in [0, 1] units."""


@dataclass
class RunError:
    type: str
    """``NaNLoss``, ``NaNOutput``, ``TimeBudgetExceeded``, ``OutOfMemory ...`` or an exception name."""
    message: str
    traceback: str | None = None


@dataclass
class DataParallelUse:
    engine: str
    replicas: int
    """Devices over all processes."""
    devices: list[str]
    """Every process's devices on JAX; this process's on TensorFlow."""
    num_processes: int | None = later()
    coordinator: str | None = later()
    """``HOST:PORT`` of process 0 in a multi-process run."""
    global_batch: int | None = later()
    per_device_batch: int | None = later()
    weights_in_sync: bool | None = later()
    """Whether every process held bit-identical weights after training (checked by hash)."""


@dataclass
class TrainStats:
    seconds: float
    images: int
    steps_per_epoch: int
    epoch_seconds: list[float]
    first_step_seconds: float | None
    """From the start of training to the end of the first step (tracing and compilation)."""
    warmup_seconds: float | None
    images_per_s: float | None
    """Steady state: the first steps excluded."""
    steps_timed: int
    step_p50_ms: float | None
    steps: int | None = later()
    """Optimizer steps taken (every protocol)."""
    epochs_equivalent: float | None = later()
    """``steps`` x batch size / training images: epochs' worth of data seen."""
    step_seconds_total: float | None = later()
    """Training time without the test evaluations between epochs (compilation included)."""


@dataclass
class Calibration:
    """The timed calibration of a budget run: steps of its compiled training step, whose
    effects on the model and optimizer are undone before the training."""

    step_seconds: float
    """Seconds per training step at steady state (the first steps excluded), by ``statistic``."""
    steps_timed: int
    seconds: float
    """Wall time of the whole calibration, compilation included (outside the budget)."""
    first_step_seconds: float | None = None
    """The first step: tracing and compilation of the training step, plus one step."""
    statistic: str | None = later()
    """How ``step_seconds`` sums up the timed steps (None: their mean, in records written
    before the windows)."""
    windows: list[float] | None = later()
    """Each calibration window's step time (seconds; the median of its steps)."""


@dataclass
class ProtocolInfo:
    """How long a run trained and why: ``epochs``, ``budget`` (calibrated) or ``steps``."""

    kind: str
    steps: int
    """Optimizer steps of the run: ``--steps`` with this number repeats a budget run."""
    warmup_steps: int
    budget_seconds: float | None = None
    calibration: Calibration | None = None
    segments: int | None = None
    """Training segments with a test evaluation after each (the curve's points)."""


@dataclass
class PreciseBN:
    """The BatchNorm statistics a run was evaluated with: recomputed for the weights being
    evaluated, as the average over ``batches`` un-augmented training batches
    (:mod:`kerascnn.bench.precise_bn`), before every test evaluation (curve points and final)."""

    layers: int
    """BatchNormalization layers recomputed (0: the model has none to recompute)."""
    batches: int
    batch_size: int
    calls: int
    """Recomputations in the run (one per test evaluation)."""
    seconds: float
    """Their time in all: outside the training budget, in the evaluation time."""
    top1_stale: float | None = None
    """Final top-1 with the moving statistics training left (what an evaluation without the
    recomputation reports)."""


@dataclass
class CurvePoint:
    """Test accuracy after ``step`` optimizer steps and ``train_seconds`` of training."""

    step: int
    epoch: float
    """Epochs' worth of data seen by then."""
    train_seconds: float
    """Training time until then: step time only (test evaluations excluded), compilation included."""
    top1: float | None
    loss: float | None = None


@dataclass
class EvalMetrics:
    top1: float
    top5: float
    loss: float | None
    """Cross-entropy of the test set; None when the outputs were not finite (run failed)."""
    confusion: list[list[int]]
    """Rows: true class, columns: predicted class."""
    n: int


@dataclass
class Latency:
    """Host numpy input to numpy output, one call at a time, warm-up excluded (milliseconds)."""

    p50_ms: float
    p95_ms: float
    mean_ms: float
    std_ms: float
    min_ms: float
    n: int
    batch: int


@dataclass
class DeviceThroughput:
    """Device-resident input, calls back to back, synchronized every few calls."""

    images_per_s: float
    batch: int
    calls: int
    seconds: float


@dataclass
class InferenceTimings:
    first_call_seconds: dict[str, float]
    """Tracing + compilation + one call, per input shape: ``eval_batch``, ``batch_1``, ``batch_N``."""
    latency_b1: Latency
    latency_bN: Latency
    device_throughput: DeviceThroughput
    bn_folded: int | None = later()
    """BatchNormalization layers folded into the convolutions before them in the model these
    latencies and throughput timed (``kerascnn.accel.fold_bn``; 0: none to fold; None: a record
    from before folding, which timed the model as trained). The test metrics are always the
    trained, unfolded model's."""
    fold_seconds: float | None = later()
    """Folding and compiling the folded forward pass (outside every timing here)."""


@dataclass
class ModelSize:
    keras_file_bytes: int
    saved_to: str | None
