import pytest

from course_lib import quick


def test_switch_reads_environment(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert quick.is_quick() and quick.pick(quick="q", full="f") == "q"
    assert quick.sizes == quick.QUICK_SIZES
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert not quick.is_quick() and quick.pick(quick="q", full="f") == "f"
    assert quick.sizes == quick.FULL_SIZES
    monkeypatch.delenv("COURSE_QUICK")
    assert quick.mode_name() == "default"


def test_quick_sizes_are_smaller():
    q, f = quick.QUICK_SIZES, quick.FULL_SIZES
    assert q.fmnist_train < 60000 and f.fmnist_train is None
    assert q.text_epochs < f.text_epochs
    assert q.cnn_epochs >= 1 and f.cnn_epochs is None   # default mode: each lesson picks its own (quick.pick)


def test_unknown_value_is_rejected(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "maybe")
    with pytest.raises(ValueError, match="COURSE_QUICK='maybe' is not understood"):
        quick.is_quick()


def test_pick_by_profile(monkeypatch):
    monkeypatch.setattr(quick, "hardware", lambda: "gpu")
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert quick.pick(quick=1, cpu=6, gpu=30) == 30 and quick.pick(quick=1, full=6) == 6
    assert quick.pick(quick=1, full=6, gpu=30) == 30 and quick.by_hardware(cpu="small", gpu="big") == "big"
    assert quick.profile_name() == "gpu"
    monkeypatch.setattr(quick, "hardware", lambda: "cpu")
    assert quick.pick(quick=1, cpu=6, gpu=30) == 6 and quick.pick(quick=1, full=6, gpu=30) == 6
    assert quick.profile_name() == "cpu"
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert quick.pick(quick=1, cpu=6, gpu=30) == 1 and quick.profile_name() == "quick"
    monkeypatch.setattr(quick, "hardware", lambda: "gpu")
    assert quick.by_hardware(cpu="small", gpu="big") == "big"    # recipes follow the hardware in quick mode


def test_pick_needs_default_mode_values():
    with pytest.raises(TypeError, match="pick needs full=, or both cpu= and gpu="):
        quick.pick(quick=1, cpu=6)
    with pytest.raises(TypeError, match="full= is unused"):
        quick.pick(quick=1, full=2, cpu=6, gpu=30)


def test_hardware_follows_the_simulated_gpu(monkeypatch):
    from course_lib import runtime

    monkeypatch.setattr(runtime, "_STATE", {})               # as before any runtime.setup()
    monkeypatch.setattr(runtime, "detect_devices", lambda: [runtime.DeviceInfo("CPU", "cpu")])
    assert quick.hardware() == "cpu"
    monkeypatch.setattr(runtime, "detect_devices", lambda: [
        runtime.DeviceInfo("CPU", "cpu"), runtime.DeviceInfo("GPU", "T4 (simulated)", None, (7, 5), True)])
    assert quick.hardware() == "gpu"
