"""data.verify_all and data.data_file on a private, damaged copy of data/ (COURSE_DATA_DIR points to it).

The other data tests hash the files themselves; these make verify_all do the work and fail."""
import os
import shutil

import pytest

from course_lib import data


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    src = data.data_dir()
    for rel in data.CHECKSUMS:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / rel, tmp_path / rel)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


def flip_one_byte(path, where=0.5):
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * where)] ^= 0x01
    path.write_bytes(bytes(raw))


def test_pristine_copy_verifies(data_copy):
    assert data.data_dir() == data_copy
    assert data.verify_all() == {rel: "ok" for rel in data.CHECKSUMS}
    for rel in data.CHECKSUMS:
        assert data.data_file(rel) == data_copy / rel


@pytest.mark.parametrize("rel", sorted(data.CHECKSUMS))
def test_verify_all_raises_on_a_corrupt_file_and_names_it(data_copy, rel):
    flip_one_byte(data_copy / rel)                      # same size, one bit changed
    with pytest.raises(data.DataFileError) as err:
        data.verify_all()
    message = str(err.value)
    assert str(data_copy / rel) in message              # which file (its full path)
    assert data.CHECKSUMS[rel] in message               # what it should hash to
    others = [r for r in data.CHECKSUMS if r != rel]
    for r in others:                                    # and only that one is blamed
        assert r not in message


@pytest.mark.parametrize("rel", ["fashion-mnist/train-labels-idx1-ubyte.gz", "spamassassin/spamassassin.jsonl.gz"])
def test_verify_all_raises_on_a_missing_file_and_names_it(data_copy, rel):
    (data_copy / rel).unlink()
    with pytest.raises(data.DataFileError) as err:
        data.verify_all()
    assert str(data_copy / rel) in str(err.value) and data.CHECKSUMS[rel] in str(err.value)


def test_restore_hint_matches_the_dataset(data_copy):
    flip_one_byte(data_copy / "spamassassin/spamassassin.jsonl.gz")
    with pytest.raises(data.DataFileError) as err:
        data.data_file("spamassassin/spamassassin.jsonl.gz")
    assert data.RESTORE_HINT["spamassassin"] in str(err.value)
    (data_copy / "fashion-mnist/t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataFileError) as err:
        data.data_file("fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert data.RESTORE_HINT["fashion-mnist"] in str(err.value)


def test_a_file_damaged_after_a_successful_check_is_caught(data_copy):
    rel = "fashion-mnist/t10k-labels-idx1-ubyte.gz"
    assert data.verify_all()[rel] == "ok"               # now cached as verified
    flip_one_byte(data_copy / rel, where=0.9)
    st = (data_copy / rel).stat()
    os.utime(data_copy / rel, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))   # a later mtime, as any edit gives
    with pytest.raises(data.DataFileError, match="t10k-labels-idx1-ubyte.gz"):
        data.verify_all()


def test_a_directory_in_place_of_a_file_is_missing(data_copy):
    rel = "fashion-mnist/t10k-labels-idx1-ubyte.gz"
    (data_copy / rel).unlink()
    (data_copy / rel).mkdir()
    with pytest.raises(data.DataFileError, match="t10k-labels-idx1-ubyte.gz"):
        data.verify_all()
