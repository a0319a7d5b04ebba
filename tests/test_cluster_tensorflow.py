"""Why :class:`kerascnn.distributed.multiworker.MultiWorkerModel` exists: a plain Keras 3 model cannot
``fit`` under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585). Two TensorFlow workers
on 127.0.0.1 show it. When this test fails because they trained, Keras has fixed it: drop the
workaround (MultiWorkerModel) and this test; tests/test_cluster_processes.py keeps the TensorFlow
path tested."""

import os
import subprocess
import sys
import textwrap

from kerascnn.distributed.cluster import free_port

WORKER = textwrap.dedent(
    """
    import json, os, sys
    ports, index = sys.argv[1].split(","), int(sys.argv[2])
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
        "task": {"type": "worker", "index": index},
    })
    import keras, numpy as np, tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((64, 4), dtype="float32")
    y = np.eye(3, dtype="float32")[np.arange(64) % 3]
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat()
    model.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
    print("TRAINED")
    """
)


def test_keras_fit_still_fails_under_multi_worker_mirrored_strategy():
    first = free_port()
    ports = f"{first},{next(p for p in iter(free_port, None) if p != first)}"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, ports, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for i in (0, 1)
    ]
    try:
        outputs = [p.communicate(timeout=120)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, out in zip(procs, outputs):
        assert "TRAINED" not in out, "Keras now trains under MultiWorkerMirroredStrategy: " + (
            "drop kerascnn.distributed.multiworker.MultiWorkerModel's workaround"
        )
        assert p.returncode != 0 and "PerReplica" in out, out[-3000:]
