"""Runtime: what hardware we are on, and how to use it.

``setup()`` is the first call of every notebook. It seeds everything, turns on GPU memory growth,
picks a mixed-precision policy and returns a ``tf.distribute`` strategy. ``describe()`` prints an
environment report that can be pasted into a bug report.

The decision itself (which policy, which strategy) is the pure function ``choose_plan`` of a list
of :class:`DeviceInfo`, so it is tested without the hardware.

A GPU can be *simulated* on a CPU-only machine: ``COURSE_SIMULATE_GPU=t4`` makes ``detect_devices``
report a Tesla T4 (flagged as simulated), so ``setup`` picks what a T4 gets (``mixed_float16``, the GPU
profile of every lesson) while the work runs on the CPU. The tests use it to execute the GPU code
paths here; it checks correctness, not speed (float16 is slow on a CPU).
"""
from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "one_device", "mirrored", "tpu", "multi_worker")
SIMULATE_ENV = "COURSE_SIMULATE_GPU"


@dataclass(frozen=True)
class DeviceInfo:
    """One accelerator or CPU as TensorFlow sees it.

    kind: "CPU", "GPU" or "TPU". compute_capability: (major, minor) for NVIDIA GPUs, else None.
    simulated: True for a GPU that ``COURSE_SIMULATE_GPU`` pretends is there (the work runs on the CPU).
    """

    kind: str
    name: str
    memory_bytes: int | None = None
    compute_capability: tuple[int, int] | None = None
    simulated: bool = False

    def __post_init__(self):
        if self.kind not in ("CPU", "GPU", "TPU"):
            raise ValueError(f"DeviceInfo.kind must be 'CPU', 'GPU' or 'TPU', got {self.kind!r}")


# GPUs that COURSE_SIMULATE_GPU can pretend to have: (name, memory, compute capability).
SIMULATED_GPUS = {
    "t4": ("Tesla T4", 15 * 2**30, (7, 5)),       # Colab's free GPU: tensor cores, mixed_float16
    "k80": ("Tesla K80", 12 * 2**30, (3, 7)),     # no tensor cores: the float32 GPU path
}


@dataclass(frozen=True)
class Plan:
    """What ``setup`` will do: a precision policy and a strategy kind, with the reason for each."""

    precision: str
    strategy: str
    reasons: tuple[str, ...] = field(default=())
    num_workers: int = 1
    simulated: bool = False          # the accelerator is simulated: run its strategy on the CPU
    hardware: str = "cpu"            # "gpu" when there is an accelerator (GPU or TPU, real or simulated)


def _count_workers(tf_config: str | dict | None) -> int:
    if not tf_config:
        return 1
    if isinstance(tf_config, str):
        try:
            tf_config = json.loads(tf_config)
        except json.JSONDecodeError as e:
            raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from None
    if not isinstance(tf_config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object (a dict), got {type(tf_config).__name__}")
    cluster = tf_config.get("cluster", {})
    if not isinstance(cluster, dict):
        raise ValueError(f"TF_CONFIG['cluster'] must be a dict of job name -> list of addresses, got {cluster!r}")
    count = 0
    for job in ("chief", "worker"):
        addresses = cluster.get(job, [])
        if not isinstance(addresses, (list, tuple)) or not all(isinstance(a, str) for a in addresses):
            raise ValueError(f"TF_CONFIG['cluster'][{job!r}] must be a list of 'host:port' strings, "
                             f"got {addresses!r}")
        count += len(addresses)
    return max(1, count)          # no cluster: this process alone


def choose_plan(devices: list[DeviceInfo], precision: str = "auto",
                tf_config: str | dict | None = None) -> Plan:
    """Choose precision policy and strategy from a device list. Pure: no TensorFlow calls.

    - CPU only: float32, default strategy.
    - One GPU: OneDeviceStrategy; several: MirroredStrategy.
      mixed_float16 when every GPU has compute capability >= 7.0 (tensor cores), else float32.
    - TPU: TPUStrategy with mixed_bfloat16.
    - TF_CONFIG naming two or more workers: MultiWorkerMirroredStrategy (beats the above).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if not isinstance(devices, (list, tuple)) or not all(isinstance(d, DeviceInfo) for d in devices):
        raise TypeError("devices must be a list of DeviceInfo")
    gpus = [d for d in devices if d.kind == "GPU"]
    tpus = [d for d in devices if d.kind == "TPU"]
    workers = _count_workers(tf_config)
    reasons = [f"{d.name} is simulated on the CPU (${SIMULATE_ENV})" for d in gpus if d.simulated]

    if workers > 1:
        strategy = "multi_worker"
        reasons.append(f"TF_CONFIG names {workers} workers")
    elif tpus:
        strategy = "tpu"
        reasons.append(f"{len(tpus)} TPU core(s) found")
    elif len(gpus) > 1:
        strategy = "mirrored"
        reasons.append(f"{len(gpus)} GPUs found")
    elif len(gpus) == 1:
        strategy = "one_device"
        reasons.append("one GPU found")
    else:
        strategy = "default"
        reasons.append("no GPU or TPU: running on CPU")

    if precision != "auto":
        policy = precision
        reasons.append(f"precision {precision!r} requested")
    elif tpus:
        policy = "mixed_bfloat16"
        reasons.append("TPUs compute fast in bfloat16")
    elif gpus and all(d.compute_capability and d.compute_capability >= (7, 0) for d in gpus):
        policy = "mixed_float16"
        reasons.append("GPU compute capability >= 7.0 has float16 tensor cores")
    elif gpus:
        policy = "float32"
        reasons.append("GPU compute capability < 7.0 (or unknown): float16 would not be faster")
    else:
        policy = "float32"
        reasons.append("mixed precision brings no speed-up on CPU")
    return Plan(precision=policy, strategy=strategy, reasons=tuple(reasons), num_workers=workers,
                simulated=any(d.simulated for d in gpus), hardware="gpu" if gpus or tpus else "cpu")


# --------------------------------------------------------------------------- environment probes

def in_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def in_kaggle() -> bool:
    return "KAGGLE_KERNEL_RUN_TYPE" in os.environ


def _tpu_address() -> str | None:
    return os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR")


def detect_devices() -> list[DeviceInfo]:
    """Ask TensorFlow for the physical devices, with name, memory and compute capability."""
    import tensorflow as tf

    devices = []
    for dev in tf.config.list_physical_devices("CPU"):
        devices.append(DeviceInfo("CPU", platform.processor() or platform.machine() or dev.name, _host_memory()))
    for dev in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(dev)
        # TF reports no total memory; describe() asks nvidia-smi for it.
        devices.append(DeviceInfo("GPU", details.get("device_name", dev.name), None,
                                  details.get("compute_capability")))
    # Listing logical devices would initialise the runtime (too early for multi-worker
    # collectives), so TPUs are found from their address instead; setup() connects to them.
    if _tpu_address():
        devices.append(DeviceInfo("TPU", _tpu_address()))
    simulated = simulated_gpu()
    if simulated is not None:
        if any(d.kind != "CPU" for d in devices):
            raise RuntimeError(f"${SIMULATE_ENV} simulates a GPU on a CPU-only machine, but this machine "
                               f"has {[d.name for d in devices if d.kind != 'CPU']}: unset ${SIMULATE_ENV}")
        devices.append(simulated)
    return devices


def simulated_gpu() -> DeviceInfo | None:
    """The GPU that ``$COURSE_SIMULATE_GPU`` names (t4, k80), or None when the variable is unset."""
    raw = os.environ.get(SIMULATE_ENV, "").strip().lower()
    if raw in ("", "0", "no", "off", "none"):
        return None
    if raw not in SIMULATED_GPUS:
        raise ValueError(f"{SIMULATE_ENV}={raw!r} is not understood; expected one of {sorted(SIMULATED_GPUS)} "
                         "(or unset it)")
    name, memory, capability = SIMULATED_GPUS[raw]
    return DeviceInfo("GPU", f"{name} (simulated)", memory, capability, simulated=True)


def _host_memory() -> int | None:
    """Total RAM in bytes, where the OS tells (Linux, macOS); else None."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _gpu_memory_from_nvidia_smi() -> list[int]:
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10).stdout
        return [int(float(line)) * 2**20 for line in out.split() if line.strip()]
    except Exception:
        return []


# --------------------------------------------------------------------------- actions

def set_seed(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy, TensorFlow and Keras; optionally make TF ops deterministic."""
    import keras
    import tensorflow as tf

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def split_cpu(n: int) -> list[str]:
    """Split the CPU into ``n`` logical devices (must run before TF initialises its devices).

    Lets a CPU-only machine exercise MirroredStrategy. Returns the logical device names.
    """
    import tensorflow as tf

    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def make_strategy(plan: Plan, devices: list[str] | None = None):
    """Build the ``tf.distribute`` strategy that ``plan.strategy`` names."""
    import tensorflow as tf

    if plan.strategy not in STRATEGIES:
        raise ValueError(f"plan.strategy must be one of {STRATEGIES}, got {plan.strategy!r}")
    if plan.strategy == "default":
        return tf.distribute.get_strategy()
    if plan.strategy == "one_device":
        return tf.distribute.OneDeviceStrategy(devices[0] if devices else
                                               "/cpu:0" if plan.simulated else "/gpu:0")
    if plan.strategy == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if plan.strategy == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=_tpu_address() or "")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


_STATE: dict = {}


def setup(seed: int = 0, precision: str = "auto", deterministic: bool = False,
          memory_growth: bool = True, verbose: bool = True):
    """Prepare the runtime and return a ``tf.distribute`` strategy.

    Seeds everything (``deterministic=True`` also enables TF op determinism), enables GPU memory
    growth, sets the Keras mixed-precision policy chosen by :func:`choose_plan` and builds the
    strategy. Safe to call twice: the strategy is reused when the plan is unchanged.
    """
    import keras
    import tensorflow as tf

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if memory_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialised: growth can no longer change
                pass
    plan = choose_plan(detect_devices(), precision, os.environ.get("TF_CONFIG"))
    key = (plan.strategy, plan.num_workers, plan.simulated)
    if _STATE.get("key") != key:  # build the strategy first: multi-worker needs a fresh runtime
        _STATE["strategy"] = make_strategy(plan)
        _STATE["key"] = key
    keras.mixed_precision.set_global_policy(plan.precision)
    set_seed(seed, deterministic)
    _STATE["plan"] = plan
    if verbose:
        print(f"course_lib.runtime.setup: seed={seed}, precision={plan.precision}, "
              f"strategy={plan.strategy} ({'; '.join(plan.reasons)})")
    return _STATE["strategy"]


def current_plan() -> Plan | None:
    """The plan chosen by the last ``setup`` call, or None."""
    return _STATE.get("plan")


def hardware() -> str:
    """'gpu' or 'cpu': the hardware profile lessons size themselves by (see ``quick.pick``).

    From the last ``setup`` call's plan; before ``setup``, from the devices TensorFlow sees. A GPU
    simulated with ``$COURSE_SIMULATE_GPU`` counts as 'gpu'.
    """
    plan = current_plan() or choose_plan(detect_devices(), "auto", os.environ.get("TF_CONFIG"))
    return plan.hardware


def describe(print_report: bool = True) -> str:
    """A plain-text environment report, safe to paste into a bug report. Returns the text."""
    import keras
    import numpy as np
    import tensorflow as tf

    try:
        import keras_hub
        hub_version = keras_hub.__version__
    except Exception as e:  # keep the report useful even when keras_hub is broken
        hub_version = f"not importable ({type(e).__name__})"
    from . import quick

    devices = detect_devices()
    gpu_mem = _gpu_memory_from_nvidia_smi()
    plan = choose_plan(devices, "auto", os.environ.get("TF_CONFIG"))
    lines = ["=== course_lib environment report ===",
             f"Python      {platform.python_version()} ({platform.system()} {platform.machine()})",
             f"TensorFlow  {tf.__version__}",
             f"Keras       {keras.__version__} (backend: {keras.backend.backend()})",
             f"keras_hub   {hub_version}",
             f"NumPy       {np.__version__}",
             f"Platform    {'Colab' if in_colab() else 'Kaggle' if in_kaggle() else 'local'}",
             f"CPU cores   {os.cpu_count()}",
             f"Quick mode  {quick.mode_name()} (COURSE_QUICK={os.environ.get('COURSE_QUICK', '')!r})",
             f"Profile     {quick.profile_name()} (lessons take their sizes from this)",
             "Devices:"]
    gpu_i = 0
    for d in devices:
        mem = d.memory_bytes
        if d.kind == "GPU" and gpu_i < len(gpu_mem):
            mem = gpu_mem[gpu_i]
            gpu_i += 1
        extra = []
        if mem:
            extra.append(f"{mem / 2**30:.1f} GiB")
        if d.compute_capability:
            extra.append("compute capability %d.%d" % tuple(d.compute_capability))
        if d.simulated:
            extra.append(f"SIMULATED on the CPU by ${SIMULATE_ENV}")
        lines.append(f"  - {d.kind}: {d.name}" + (f" ({', '.join(extra)})" if extra else ""))
    useful = plan.precision != "float32"
    lines.append(f"Mixed precision useful: {'yes' if useful else 'no'} -> policy {plan.precision}")
    lines.append(f"Strategy    {plan.strategy} ({'; '.join(plan.reasons)})")
    banner = []
    if plan.simulated:
        banner = [f"SIMULATED GPU (${SIMULATE_ENV}): GPU settings and recipes, CPU speed.",
                  "For testing the GPU code paths; unset the variable to learn."]
    elif not any(d.kind in ("GPU", "TPU") for d in devices):
        banner = ["NO GPU: you are on CPU. Every lesson still runs, just slower.",
                  "Colab: Runtime > Change runtime type > Hardware accelerator",
                  "       > T4 GPU > Save, then run the notebook again."]
    if banner:
        width = max(map(len, banner))
        lines += ["", "!" * (width + 8)] + [f"!!  {b:<{width}}  !!" for b in banner] + ["!" * (width + 8)]
    report = "\n".join(lines)
    if print_report:
        print(report)
    return report
