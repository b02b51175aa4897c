"""runtime.choose_plan at its edges: compute capability exactly (7, 0), unknown capability (None),
TPUs with an explicit precision, worker counting. choose_plan is pure: no hardware, no TensorFlow.

The rule under test (the function's docstring, and NVIDIA's tensor cores, which start with Volta, 7.0):
mixed_float16 only when EVERY GPU's capability is known and >= (7, 0).
"""
import re

import pytest

from course_lib.runtime import PRECISIONS, DeviceInfo, Plan, choose_plan

CPU = DeviceInfo("CPU", "x86_64")


def gpu(capability, name=None):
    return DeviceInfo("GPU", name or f"cc{capability}", 16 * 2**30, capability)


V100 = gpu((7, 0), "Tesla V100")        # the first tensor-core generation: exactly the boundary
P100 = gpu((6, 0), "Tesla P100")
GTX1080 = gpu((6, 1), "GTX 1080")       # 6.1 < 7.0 although its minor part is larger
UNKNOWN = gpu(None, "unknown GPU")      # TF could not tell
TPU = DeviceInfo("TPU", "grpc://10.0.0.2:8470")


@pytest.mark.parametrize("devices, policy, strategy", [
    ([CPU, V100], "mixed_float16", "one_device"),          # >= (7, 0), not > (7, 0)
    ([CPU, V100, V100], "mixed_float16", "mirrored"),
    ([CPU, gpu((8, 0))], "mixed_float16", "one_device"),
    ([CPU, gpu((10, 0))], "mixed_float16", "one_device"),  # tuple order, not string order
    ([CPU, GTX1080], "float32", "one_device"),
    ([CPU, P100], "float32", "one_device"),
    ([CPU, gpu((6, 9))], "float32", "one_device"),          # just below the boundary
    ([CPU, UNKNOWN], "float32", "one_device"),             # unknown: float16 might not be faster
    ([CPU, V100, UNKNOWN], "float32", "mirrored"),          # one unknown GPU is enough to say no
    ([CPU, UNKNOWN, V100], "float32", "mirrored"),          # whatever its position
    ([CPU, V100, P100], "float32", "mirrored"),
    ([V100], "mixed_float16", "one_device"),               # no CPU entry listed: still one GPU
    ([], "float32", "default"),
], ids=lambda v: "+".join(d.name for d in v) or "none" if isinstance(v, list) else None)
def test_precision_and_strategy_at_the_capability_boundary(devices, policy, strategy):
    plan = choose_plan(devices)
    assert isinstance(plan, Plan)
    assert (plan.precision, plan.strategy, plan.num_workers) == (policy, strategy, 1)


def has_words(text, *words):
    """Every word occurs in text as a whole word (so "XXCPU" or "cpu" do not count as "CPU")."""
    return all(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text) for w in words)


def test_reasons_say_what_was_found_and_why():
    """setup() prints the reasons: each names what was found and why the policy follows from it."""
    two = choose_plan([CPU, V100, V100])
    assert has_words(two.reasons[0], "2", "GPUs") and two.reasons[0].startswith("2 GPUs")
    assert has_words(two.reasons[1], "GPU", "7.0", "float16", "tensor", "cores")
    old = choose_plan([CPU, UNKNOWN])
    assert has_words(old.reasons[0], "one", "GPU")
    assert has_words(old.reasons[1], "GPU", "7.0", "unknown", "float16")
    cpu = choose_plan([CPU])
    assert has_words(cpu.reasons[0], "no", "GPU", "TPU", "CPU")
    assert has_words(cpu.reasons[1], "mixed", "precision", "CPU")
    tpu = choose_plan([CPU, TPU, TPU])
    assert has_words(tpu.reasons[0], "2", "TPU") and has_words(tpu.reasons[1], "TPUs", "bfloat16")
    asked = choose_plan([CPU, V100], "float32")
    assert has_words(asked.reasons[1], "'float32'", "requested")
    workers = choose_plan([CPU], tf_config={"cluster": {"worker": ["a:1", "b:2", "c:3"]}})
    assert has_words(workers.reasons[0], "3", "workers", "TF_CONFIG")
    for plan in (two, old, cpu, tpu, asked, workers):
        assert len(plan.reasons) == 2                      # one for the strategy, one for the precision


@pytest.mark.parametrize("precision", [p for p in PRECISIONS if p != "auto"])
def test_tpu_with_explicit_precision_keeps_the_tpu_strategy(precision):
    plan = choose_plan([CPU, TPU], precision)
    assert (plan.precision, plan.strategy) == (precision, "tpu")


@pytest.mark.parametrize("precision", [p for p in PRECISIONS if p != "auto"])
def test_explicit_precision_wins_everywhere(precision):
    for devices in ([CPU], [CPU, V100], [CPU, P100], [CPU, UNKNOWN, UNKNOWN]):
        assert choose_plan(devices, precision).precision == precision


def test_tpu_beats_gpus_and_multi_worker_beats_tpu():
    assert choose_plan([CPU, V100, TPU]).strategy == "tpu"
    assert choose_plan([CPU, V100, TPU]).precision == "mixed_bfloat16"
    plan = choose_plan([CPU, TPU], tf_config={"cluster": {"worker": ["a:1", "b:2"]}})
    assert (plan.strategy, plan.num_workers, plan.precision) == ("multi_worker", 2, "mixed_bfloat16")


# runtime._count_workers returns 0 for a TF_CONFIG without a cluster (one process is one worker);
# the fix (max(1, ...)) is in lead-owned runtime.py. strict: these start failing once it is fixed.
@pytest.mark.parametrize("tf_config, workers, strategy", [
    (None, 1, "default"),
    ("", 1, "default"),
    ({}, 1, "default"),
    ('{"task": {"type": "worker", "index": 0}}', 1, "default"),  # no cluster
    ({"cluster": {"chief": ["a:1"]}}, 1, "default"),              # a chief alone is one worker
    ({"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]}}, 3, "multi_worker"),
    ({"cluster": {"worker": ["a:1", "b:2"], "ps": ["p:1"]}}, 2, "multi_worker"),   # ps are not workers
    ('{"cluster": {"worker": ["a:1", "b:2"]}}', 2, "multi_worker"),
])
def test_worker_count(tf_config, workers, strategy):
    plan = choose_plan([CPU], "auto", tf_config)
    assert (plan.num_workers, plan.strategy) == (workers, strategy)


@pytest.mark.parametrize("tf_config", ['{"task": {"type": "worker", "index": 0}}', {"task": {}}])
def test_tf_config_without_a_cluster_is_a_single_process(tf_config):
    plan = choose_plan([CPU, V100], "auto", tf_config)
    assert (plan.strategy, plan.precision) == ("one_device", "mixed_float16")
    assert plan.num_workers == 1


def test_tuple_of_devices_is_accepted_and_bad_lists_are_not():
    assert choose_plan((CPU, V100)).strategy == "one_device"
    with pytest.raises(TypeError, match=r"\bdevices\b.*\bDeviceInfo\b"):
        choose_plan(CPU)                       # one device, not a list
    with pytest.raises(TypeError, match=r"\bdevices\b.*\bDeviceInfo\b"):
        choose_plan([CPU, "GPU:0"])            # one bad entry among good ones
    with pytest.raises(ValueError):
        choose_plan([CPU], "float16")
