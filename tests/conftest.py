"""Shared test setup: no network, quiet TensorFlow, small hypothesis budgets."""

import gc
import os

os.environ.setdefault("KERASCNN_NO_DOWNLOAD", "1")  # nothing in the tests touches the network
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("KERASCNN_FAST", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "kerascnn",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("kerascnn")

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
requires_fashion = pytest.mark.skipif(
    not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)",
)


@pytest.fixture(autouse=True)
def _clear_keras_session():
    """Free graph state between tests so layer names and memory don't accumulate.

    clear_session() ends in gc.collect(), which walks every object alive: with TensorFlow and
    JAX imported, ~450,000 objects and 0.25 s per test (make test-fast took 6 min 30 s that way).
    After the first test's collection, what is alive then (the imports, the modules' state) is
    frozen (gc.freeze), so each later collection walks only what the tests made since (~0.01 s;
    make test-fast 3 min 52 s) and every test's garbage is still collected.
    """
    yield
    import keras

    keras.backend.clear_session()
    if not gc.get_freeze_count():
        gc.freeze()


# The fast lane: `make test-fast` runs `pytest -m "not slow"`; `make test` and CI run everything.
# SLOW names what the fast lane leaves out, each entry with its reason: a test file ("test_x.py",
# all its tests) or one test function ("test_x.py::test_name", all its parameters). An entry is
# a test that starts processes or trains for real and took over ~10 s; the seconds are each
# entry's share of `pytest -n 2 tests --durations=0` on 2 CPU cores (2026-12-07, under load:
# ~2x an idle machine). tests/test_fast_lane.py checks that every entry still exists.
SLOW = {
    # several real processes
    "test_cluster_processes.py": "kerascnn bench processes on 127.0.0.1 (699 s)",
    "test_scaling.py": "one- and two-process bench runs (34 s)",
    "test_search_distributed.py": "a KerasTuner chief and two workers (23 s)",
    "test_cluster_tensorflow.py": "TensorFlow multi-worker processes (24 s)",
    "test_bench_runner.py::test_resume_after_killed_process": "kills a bench process (44 s)",
    # Python subprocesses on another backend, or a script run end to end
    "test_backends.py": "JAX subprocesses, with and without TensorFlow (111 s)",
    "test_on_jax.py": "the layer suite in a JAX pytest subprocess (49 s)",
    "test_layers_padding.py::test_padding2d_matches_np_pad_on_jax_backend": "JAX subprocess (52 s)",
    "test_analysis_xla.py::test_xla_flops_agree_with_two_times_macs": "JAX subprocess (20 s)",
    "test_accel.py::test_data_parallel_on_two_cpu_devices": "subprocess per backend (25 s)",
    "test_accel.py::test_throughput_jax": "JAX subprocess per precision (21 s)",
    "test_accel.py::test_gpu_throughput_script_smoke": "the GPU script in smoke mode (25 s)",
    "test_accel.py::test_bench_on_jax_without_tensorflow_data_parallel": "subprocess (12 s)",
    "test_gpu_run.py": "the GPU run scripts in smoke mode (136 s)",
    "test_data_offline.py::test_bench_without_network_fails_fast": "a bench process per set (15 s)",
    "test_install.py": "builds the wheel and installs it into a fresh venv (~20 s idle)",
    "test_readme.py::test_readme_snippet_runs": "every README command (~140 s idle)",
    # the lessons, each run as a script
    "test_tutorials_a.py::test_lesson_runs_in_fast_mode": "lessons 01-06, 12, 17",
    "test_tutorials_b.py::test_lesson_runs_in_fast_mode": "lessons 07-11, 13-16",
    # the book: every lesson executed again, as a notebook in a Jupyter kernel, then Chromium
    "test_book.py::test_every_page_in_chromium": "builds the book (175 s idle, ~320 s loaded), opens every page",
    "test_book.py::test_save_figure_output_in_a_real_kernel": "starts a Jupyter kernel (~10 s)",
    # real training runs
    "test_experiments.py::test_experiment_fast_report": "every experiment (236 s)",
    "test_models_learn.py::test_a_few_epochs_lower_the_loss": "trains 12 models (104 s)",
    "test_fused_train.py::test_every_viewed_model_of_the_zoo_trains_the_same": (
        "3 training-mode gradients of every BatchNorm or VGG model, one in float64 (60 s idle)"
    ),
    "test_cifar_course.py::test_the_course_suite_runs_end_to_end_on_cifar_format_files": (
        "the course suite (88 s)"
    ),
    "test_bench_saved.py": "bench runs that save, reload and deploy (73 s)",
    "test_deploy.py::test_bench_save_models_then_deploy_writes_csv_md_and_the_report": (
        "a bench run, then every deploy target (38 s)"
    ),
    "test_bench_data.py::test_bench_on_an_image_folder_shows_its_classes": "a bench run (37 s)",
    "test_bench_runner.py::test_failing_models_do_not_stop_the_suite": "a bench suite (22 s)",
}


def slow_reason(nodeid: str) -> str | None:
    """The reason SLOW gives for a test's node id (its parameters ignored), or None."""
    key = nodeid.split("[", 1)[0].rsplit("/", 1)[-1]
    for entry, reason in SLOW.items():
        if key == entry or key.startswith(entry + "::"):
            return reason
    return None


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by -m
def pytest_collection_modifyitems(items):
    for item in items:
        reason = slow_reason(item.nodeid)
        if reason is not None:
            item.add_marker(pytest.mark.slow(reason=reason))
