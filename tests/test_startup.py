"""A notebook's first cells show none of TensorFlow's harmless C++ start-up lines, and every other
stderr line still (course_lib/_startup.py)."""
import nbformat
from nbclient import NotebookClient

from course_lib import _startup

NOISE = """WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796228686.243810   26988 port.cc:153] oneDNN custom operations are on. You may see slightly different numerical results.
I0000 00:00:1796228686.244189   26988 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
"""
CUINIT = "E0000 00:00:1796228690.216488   26988 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"


def test_only_the_known_start_up_lines_are_dropped(monkeypatch):
    monkeypatch.setattr(_startup, "_cuda_driver_loadable", lambda: True)
    real = "E0000 00:00:1.0   1 gpu_device.cc:2] real trouble\n"
    assert _startup.kept_lines(NOISE + real + CUINIT) == [real]
    # with a CUDA driver library present, a cuInit failure is real news: it stays
    assert _startup.kept_lines(NOISE.splitlines(keepends=True)[1] + CUINIT) == [CUINIT]
    # without one (a CPU machine: TF 2.20 prints the cuInit line without the driver line), it goes
    monkeypatch.setattr(_startup, "_cuda_driver_loadable", lambda: False)
    assert _startup.kept_lines(CUINIT) == []


def _stderr_of_cells(sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stderr") for c in nb.cells]


def test_a_fresh_kernel_shows_no_start_up_noise_but_keeps_other_stderr(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)   # as on a learner's machine
    monkeypatch.delenv("COURSE_QUICK", raising=False)
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)   # else ipykernel does not forward fd 2
    stderr = _stderr_of_cells([
        "from course_lib import data\ndata.verify_all();",                 # what the setup cell does
        "from course_lib import runtime\nstrategy = runtime.setup(seed=0)\nreport = runtime.describe()",
        "import os, sys, tensorflow as tf\nassert 'tensorflow' in sys.modules\nos.write(2, b'still shown\\n')\nimport time; time.sleep(1); sys.stderr.flush()",
    ])
    assert stderr[0] == "" and stderr[1] == "", stderr
    assert "still shown" in stderr[2]
