"""Import TensorFlow in a notebook without its known-harmless C++ start-up lines.

TensorFlow 2.21 prints these to the process's stderr while its shared libraries load, before it
reads TF_CPP_MIN_LOG_LEVEL (absl logging is not initialised yet, so no environment variable
silences them):

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... port.cc:153] oneDNN custom operations are on. ...
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 ... cuda_platform.cc:52] failed call to cuInit: ... (at the first device query)

``import_tensorflow_quietly`` imports TensorFlow and lists the GPUs with stderr (file descriptor 2)
sent to a temporary file, then writes back every line except those: the cuInit failure only when
TensorFlow also said there is no CUDA driver library at all (a CPU machine), so a GPU machine with a
broken driver still shows it. Anything else, including real errors, is written back unchanged.
"""
from __future__ import annotations

import os
import sys
import tempfile

HARMLESS = ("All log messages before absl::InitializeLog() is called are written to STDERR",
            "oneDNN custom operations are on.",
            "Could not find cuda drivers on your machine, GPU will not be used.")
NO_DRIVER_CONSEQUENCE = "failed call to cuInit:"


def _cuda_driver_loadable() -> bool:
    """True if the NVIDIA driver library (libcuda) can be loaded: a machine that may have a GPU."""
    import ctypes
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def kept_lines(text: str) -> list[str]:
    """The stderr lines to show again: all but the known-harmless start-up lines."""
    lines = text.splitlines(keepends=True)
    no_driver = any(HARMLESS[2] in line for line in lines) or not _cuda_driver_loadable()
    return [line for line in lines
            if not any(h in line for h in HARMLESS) and not (no_driver and NO_DRIVER_CONSEQUENCE in line)]


def import_tensorflow_quietly() -> None:
    """Import tensorflow and query its GPUs, hiding only the lines listed in HARMLESS (see above)."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf
            tf.config.list_physical_devices("GPU")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in kept_lines(captured.read().decode("utf-8", "replace")):
                os.write(2, line.encode("utf-8"))


def quiet_in_notebook() -> None:
    """In a notebook kernel, import TensorFlow quietly (above), unless you set TF_CPP_MIN_LOG_LEVEL
    yourself before importing course_lib (then nothing is dropped)."""
    if "ipykernel" in sys.modules and os.environ.get("COURSE_QUIET_TF_STARTUP") == "1":
        import_tensorflow_quietly()
