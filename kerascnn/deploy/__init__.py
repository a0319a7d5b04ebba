"""Deployment: export trained models to the runtimes they ship with, and measure them there.

    kerascnn export RUN_DIR|MODEL.keras --format litert --quantize int8
    kerascnn deploy RUN_DIR --targets keras,litert,litert-int8,onnx,openvino

:mod:`~kerascnn.deploy.targets` names the targets (format, quantization, runtime, the package
each needs); :mod:`~kerascnn.deploy.export` writes an artifact through Keras' own
``Model.export`` (the LiteRT converter's settings for quantization) and checks it against the
Keras model; :mod:`~kerascnn.deploy.runtimes` runs one in its runtime (ai-edge-litert's
Interpreter, onnxruntime's InferenceSession, OpenVINO's compiled model);
:mod:`~kerascnn.deploy.runner` measures every (model, target) of a run folder and writes
``deploy.csv``, one JSON per pair and ``DEPLOY.md`` (drawn by :mod:`kerascnn.report.deploy`).
:mod:`~kerascnn.record.deploy` is the neutral row format the report reads.

The runtimes are the ``deploy`` extra: ``pip install -e ".[deploy]"`` in the checkout. A
target whose runtime is missing is skipped with one line naming the package.
"""
