import json

import numpy as np
import pytest

from course_lib import runtime
from course_lib.runtime import DeviceInfo, choose_plan

CPU = DeviceInfo("CPU", "x86_64")
T4 = DeviceInfo("GPU", "Tesla T4", 15 * 2**30, (7, 5))
K80 = DeviceInfo("GPU", "Tesla K80", 12 * 2**30, (3, 7))
TPU = DeviceInfo("TPU", "grpc://10.0.0.2:8470")


def _real_accelerator():
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU")) or bool(runtime._tpu_address())


cpu_only = pytest.mark.skipif("_real_accelerator()", reason="asserts what a CPU-only machine reports")


@pytest.mark.parametrize("devices, tf_config, policy, strategy", [
    ([CPU], None, "float32", "default"),
    ([CPU, T4], None, "mixed_float16", "one_device"),
    ([CPU, K80], None, "float32", "one_device"),
    ([CPU, T4, T4], None, "mixed_float16", "mirrored"),
    ([CPU, T4, K80], None, "float32", "mirrored"),      # one old GPU: no tensor cores on it
    ([CPU, TPU], None, "mixed_bfloat16", "tpu"),
    ([CPU], {"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}},
     "float32", "multi_worker"),
    ([CPU, T4], json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2"]}}), "mixed_float16", "multi_worker"),
    ([CPU], {"cluster": {"worker": ["a:1"]}}, "float32", "default"),  # one worker is not multi-worker
])
def test_choose_plan(devices, tf_config, policy, strategy):
    plan = choose_plan(devices, "auto", tf_config)
    assert (plan.precision, plan.strategy) == (policy, strategy)
    assert plan.reasons


def test_explicit_precision_wins():
    assert choose_plan([CPU, T4], "float32").precision == "float32"
    assert choose_plan([CPU], "mixed_bfloat16").precision == "mixed_bfloat16"


def test_bad_arguments():
    with pytest.raises(ValueError, match="precision must be one of"):
        choose_plan([CPU], "fp16")
    with pytest.raises(TypeError, match="devices must be a list of DeviceInfo"):
        choose_plan(["GPU:0"])
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        choose_plan([CPU], "auto", "{not json")
    with pytest.raises(ValueError, match="DeviceInfo.kind must be"):
        DeviceInfo("NPU", "x")
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        runtime.set_seed(-1)
    with pytest.raises(ValueError, match="precision must be one of"):
        runtime.setup(precision="half")


@cpu_only
def test_describe_reports_versions_devices_and_cpu_banner():
    import keras
    import tensorflow as tf

    text = runtime.describe(print_report=False)
    for needle in (tf.__version__, keras.__version__, "backend: tensorflow", "keras_hub", "CPU:",
                   "Mixed precision useful: no", "NO GPU", "Change runtime type", "Quick mode  quick"):
        assert needle in text, needle


@cpu_only
def test_setup_on_cpu_seeds_and_sets_policy():
    import keras
    import tensorflow as tf

    strategy = runtime.setup(seed=7, verbose=False)
    assert strategy is tf.distribute.get_strategy()
    assert keras.mixed_precision.global_policy().name == "float32"
    first = (np.random.rand(3), tf.random.uniform((3,)).numpy(), keras.random.normal((2,), seed=None).numpy())
    runtime.setup(seed=7, verbose=False)
    second = (np.random.rand(3), tf.random.uniform((3,)).numpy(), keras.random.normal((2,), seed=None).numpy())
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert runtime.current_plan().strategy == "default"


# --------------------------------------------------------------------------- GPU profiles, simulated



def test_simulated_gpu_is_parsed_and_unknown_names_are_refused(monkeypatch):
    monkeypatch.delenv(runtime.SIMULATE_ENV, raising=False)
    assert runtime.simulated_gpu() is None
    monkeypatch.setenv(runtime.SIMULATE_ENV, "T4")
    t4 = runtime.simulated_gpu()
    assert (t4.kind, t4.compute_capability, t4.simulated) == ("GPU", (7, 5), True) and "T4" in t4.name
    monkeypatch.setenv(runtime.SIMULATE_ENV, "h100")
    with pytest.raises(ValueError, match=r"COURSE_SIMULATE_GPU='h100' is not understood.*k80.*t4"):
        runtime.simulated_gpu()


def test_plan_for_a_simulated_t4_is_a_t4_plan_that_runs_on_the_cpu():
    sim = DeviceInfo("GPU", "Tesla T4 (simulated)", 15 * 2**30, (7, 5), simulated=True)
    real = choose_plan([CPU, T4])
    plan = choose_plan([CPU, sim])
    assert (plan.precision, plan.strategy, plan.hardware) == (real.precision, real.strategy, "gpu")
    assert plan.simulated and not real.simulated
    assert any("simulated" in r for r in plan.reasons)
    assert choose_plan([CPU]).hardware == "cpu" and choose_plan([CPU, TPU]).hardware == "gpu"


@cpu_only
def test_setup_under_a_simulated_t4_uses_mixed_float16_on_the_cpu(monkeypatch):
    import keras
    import tensorflow as tf

    monkeypatch.setenv(runtime.SIMULATE_ENV, "t4")
    try:
        strategy = runtime.setup(seed=0, verbose=False)
        assert isinstance(strategy, tf.distribute.OneDeviceStrategy)
        assert "CPU" in strategy.extended.worker_devices[0].upper()
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
        assert runtime.hardware() == "gpu" and runtime.current_plan().simulated
        with strategy.scope():
            y = keras.layers.Dense(2)(tf.ones((1, 3)))
        assert y.dtype == tf.float16                      # the GPU precision really is in force
        text = runtime.describe(print_report=False)
        assert "SIMULATED" in text and "NO GPU" not in text and "Profile     quick" in text
    finally:
        monkeypatch.delenv(runtime.SIMULATE_ENV)
        runtime.setup(seed=0, verbose=False)              # back to this machine's own plan
    assert keras.mixed_precision.global_policy().name == "float32" and runtime.hardware() == "cpu"


def test_string_worker_list_is_refused_not_counted_by_characters():
    with pytest.raises(ValueError, match=r"TF_CONFIG\['cluster'\]\['worker'\] must be a list"):
        choose_plan([CPU], "auto", {"cluster": {"worker": "host1:2222,host2:2222"}})
    with pytest.raises(ValueError, match="TF_CONFIG must be a JSON object"):
        choose_plan([CPU], "auto", "[1, 2]")
