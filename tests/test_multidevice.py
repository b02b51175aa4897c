"""Multi-device paths on a CPU-only machine: MirroredStrategy over 2 logical CPUs (training.fit,
training.custom_loop_fit and the GAN train_step, each against a single-device run or its own
learning check), and two workers of MultiWorkerMirroredStrategy on loopback. Both run in
subprocesses (TF device setup is global); the three MirroredStrategy checks share one subprocess
(tests/helpers/two_logical_cpus.py), so TensorFlow is imported once for them."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HELPERS = Path(__file__).parent / "helpers"
TIMEOUT = 240


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    return env


@pytest.fixture(scope="module")
def two_cpus():
    """The JSON of tests/helpers/two_logical_cpus.py: one entry per check."""
    out = subprocess.run([sys.executable, str(HELPERS / "two_logical_cpus.py")], env=_env(),
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check(two_cpus, name):
    result = two_cpus[name]
    assert "error" not in result, result.get("error")
    return result


def test_mirrored_strategy_matches_single_device(two_cpus):
    result = _check(two_cpus, "fit")
    assert result["replicas"] == 2
    assert result["moved"] > 1e-2, "training did not change the weights; the comparison would be empty"
    assert result["max_weight_diff"] < 1e-4, result
    assert result["single_loss"][-1] < result["single_loss"][0]
    assert result["predict_lengths"] == [200] * 4, result["predict_lengths"]   # one prediction per example
    assert result["predictions_agree"] > 0.99


# training.custom_loop_fit under MirroredStrategy must equal a single-device run. Each replica must
# average its per-example losses over the GLOBAL batch (tf.nn.compute_average_loss): the replicas'
# gradients are summed, so a per-replica mean would give twice the single-device gradient.

def test_custom_loop_two_replicas_end_with_the_single_device_weights(two_cpus):
    result = _check(two_cpus, "custom_loop")
    assert result["replicas"] == 2
    assert result["moved"] > 0.05, "training hardly moved the weights; equal weights would prove little"
    assert result["max_weight_diff"] < 1e-5, result          # float32 summation order: ~1e-7 seen


def test_custom_loop_first_step_is_plain_sgd_on_the_global_batch_mean(two_cpus):
    # reference computed in the helper with a GradientTape on one device, not by custom_loop_fit
    result = _check(two_cpus, "custom_loop")
    assert result["first_step_moved"] > 1e-2
    assert result["first_step_diff"] < 1e-6, result
    assert result["one_step_loss"] == pytest.approx(result["first_batch_loss"], rel=1e-5)


def test_custom_loop_logged_losses_agree_and_fall(two_cpus):
    result = _check(two_cpus, "custom_loop")
    assert result["mirrored_loss"] == pytest.approx(result["single_loss"], rel=1e-5)
    assert result["single_loss"][-1] < result["single_loss"][0]


def test_gan_train_step_under_mirrored_strategy_on_two_logical_cpus(two_cpus):
    result = _check(two_cpus, "gan")
    assert result["replicas"] == 2
    assert result["moved"] > 1e-3
    assert np.isfinite(result["d_loss"]).all() and np.isfinite(result["g_loss"]).all()
    assert result["d_acc"][-1] > 0.75, result     # D learns under the strategy too


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def test_two_workers_on_loopback_end_with_identical_weights(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    try:
        for i in range(2):
            env = _env()
            env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
            procs.append(subprocess.Popen(
                [sys.executable, str(HELPERS / "multiworker_worker.py"), str(tmp_path / f"w{i}.npz")],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        logs = [p.communicate(timeout=TIMEOUT) for p in procs]
        for p, (_, err) in zip(procs, logs):
            assert p.returncode == 0, err[-3000:]
    finally:
        for p in procs:  # reap every child, even after a failure or timeout
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    keys = [k for k in w0.files if k.startswith("arr_")]
    assert keys and keys == [k for k in w1.files if k.startswith("arr_")]
    for k in keys:
        np.testing.assert_allclose(w0[k], w1[k], atol=1e-6, err_msg=k)
    assert np.isfinite(w0["loss"]).all()
    assert float(w0["moved"]) > 1e-3, "training did not move the weights; identical weights would prove nothing"
