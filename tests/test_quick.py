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
    assert q.cnn_epochs < f.cnn_epochs and q.text_epochs < f.text_epochs


def test_unknown_value_is_rejected(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "maybe")
    with pytest.raises(ValueError, match="COURSE_QUICK='maybe' is not understood"):
        quick.is_quick()
