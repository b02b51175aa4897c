"""Multi-device paths on a CPU-only machine: MirroredStrategy over 2 logical CPUs, and two workers
of MultiWorkerMirroredStrategy on loopback. Both run in subprocesses (TF device setup is global)."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

HELPERS = Path(__file__).parent / "helpers"
TIMEOUT = 240


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    return env


def test_mirrored_strategy_matches_single_device():
    out = subprocess.run([sys.executable, str(HELPERS / "mirrored_vs_single.py")], env=_env(),
                         capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["moved"] > 1e-2, "training did not change the weights; the comparison would be empty"
    assert result["max_weight_diff"] < 1e-4, result
    assert result["single_loss"][-1] < result["single_loss"][0]
    assert result["predict_lengths"] == [200] * 4, result["predict_lengths"]   # one prediction per example
    assert result["predictions_agree"] > 0.99


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
