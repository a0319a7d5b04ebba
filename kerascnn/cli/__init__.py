"""The ``kerascnn`` command line. Thin: parse options, call the package, print.

Heavy imports (Keras, TensorFlow) happen inside each command so that ``kerascnn --help``
answers at once. The commands live by topic in :mod:`~kerascnn.cli.info` (models, datasets,
summary), :mod:`~kerascnn.cli.bench`, :mod:`~kerascnn.cli.report`, :mod:`~kerascnn.cli.viz` and
:mod:`~kerascnn.cli.experiment`; the error contract and exit codes in :mod:`kerascnn.cli._base`;
each option is declared once, as an entry of an option table (:mod:`kerascnn.cli._options`).
"""

from __future__ import annotations

import os

import click

from kerascnn.cli import bench, deploy, experiment, info, report, throughput, viz
from kerascnn.cli._base import KerasCNNGroup

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ chatter off the terminal

__all__ = ["main"]


@click.group(
    cls=KerasCNNGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="KERASCNN_DEBUG",
    show_envvar=True,
    help="On an internal error (exit code 3), print the full traceback.",
)
@click.version_option(package_name="kerascnn")
def main(debug: bool) -> None:
    """kerascnn: learn CNNs by running them, and compare CNN architectures honestly.

    \b
    Quick start:
      kerascnn models                         list every architecture
      kerascnn bench --models lenet,vgg,mobilenetv2 --save-models
                                              train, measure, write reports/runs/<time>/
                                              (--save-models keeps the models for deploy)
      kerascnn report reports/runs/<time>     rebuild a report from stored results
      kerascnn summary resnet50               per-layer shapes, params, MACs, receptive field
      kerascnn throughput --models resnet18 --batch-sizes 1,8,32
                                              images/s per mode and batch size
      kerascnn deploy reports/runs/<time>     trained models through LiteRT (int8),
                                              ONNX Runtime and OpenVINO, measured

    Data defaults to 'fashion_mnist_mini', a real Fashion-MNIST subset embedded in the package,
    so everything works offline.

    \b
    Exit codes:
      0    done
      1    a user error (the message says what was received and what works), or failed bench runs
      2    a usage error (unknown command or option, a value of the wrong type)
      3    an internal error: a bug in kerascnn (--debug or KERASCNN_DEBUG=1 shows the traceback)
      130  kerascnn bench interrupted by Ctrl-C (finished runs are kept)
    """


for _command in (
    info.models_cmd,
    info.datasets_cmd,
    info.summary_cmd,
    bench.bench_cmd,
    report.report_cmd,
    throughput.throughput_cmd,
    viz.viz_group,
    experiment.experiment_cmd,
    deploy.export_cmd,
    deploy.deploy_cmd,
):
    main.add_command(_command)
