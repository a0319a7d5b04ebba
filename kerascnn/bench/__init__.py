"""Benchmarks: config, training, timing, runner and results store (never imports report/).

    from kerascnn.bench import BenchConfig, run_suite
    outcome = run_suite(BenchConfig(models=["lenet"], epochs=1))

The CLI (``kerascnn bench``) builds a :class:`BenchConfig` from flags or a TOML suite file,
calls :func:`run_suite`, then asks :mod:`kerascnn.report` for the README of the run folder.
"""

from kerascnn.bench.config import BenchConfig, RunSpec
from kerascnn.bench.runner import run_suite
from kerascnn.bench.suite_loop import SuiteOutcome

__all__ = ["BenchConfig", "RunSpec", "SuiteOutcome", "run_suite"]
