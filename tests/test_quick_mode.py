"""course_lib.quick beyond tests/test_quick.py: every accepted spelling, and unknown attributes."""
import pytest

from course_lib import quick


@pytest.mark.parametrize("raw", ["1", "true", "yes", "on", "TRUE", " On ", "Yes"])
def test_quick_spellings(monkeypatch, raw):
    monkeypatch.setenv("COURSE_QUICK", raw)
    assert quick.is_quick() is True and quick.mode_name() == "quick" and quick.get_sizes() is quick.QUICK_SIZES


@pytest.mark.parametrize("raw", ["", "0", "false", "no", "off", "OFF", " 0 "])
def test_default_spellings(monkeypatch, raw):
    monkeypatch.setenv("COURSE_QUICK", raw)
    assert quick.is_quick() is False and quick.mode_name() == "default" and quick.get_sizes() is quick.FULL_SIZES


def test_unknown_attribute_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError, match=r"\bno_such_size\b"):
        quick.no_such_size                                  # noqa: B018
    assert not hasattr(quick, "sizez")
