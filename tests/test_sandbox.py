"""The grading sandbox (classroom/sandbox.py, sandbox_child.py) on its own, without nbgrader.

The wire format refuses anything but plain data (never unpickles); a child runs statements one by
one, is killed with its process group when it hangs, and is restarted with the code before
replayed; the proxy forwards calls, exceptions, callbacks and in-place changes; the kernel-level
confinement (Landlock, seccomp) is checked where this machine has it.
"""
from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "classroom"))
pytest.importorskip("nbgrader", reason="the classroom extra is not installed (Colab's stack)")
import grading  # noqa: E402
import sandbox  # noqa: E402
import sandbox_child as wire  # noqa: E402

QUICK = sandbox.Settings(timeout=3, statement_timeout=3, startup_timeout=30)


def confinement():
    proc = sandbox.SandboxProcess("numpy", QUICK)
    try:
        return proc.info.get("landlock", 0), bool(proc.info.get("seccomp"))
    finally:
        proc.kill()


LANDLOCK, SECCOMP = confinement()
needs_landlock = pytest.mark.skipif(not LANDLOCK, reason="the kernel has no Landlock")
needs_seccomp = pytest.mark.skipif(not SECCOMP, reason="no seccomp filter on this machine")


def roundtrip(value, allow=("scalar", "nd", "tuple", "list", "dict")):
    enc = wire.Encoder()
    node = enc.value(value)
    return wire.Decoder(enc.blobs, allow=allow).value(node)


def session_with(source: str, settings=QUICK, policy="numpy") -> sandbox.StudentSession:
    s = sandbox.StudentSession(policy, settings)
    s.add_cell(0, textwrap.dedent(source))
    return s


@pytest.fixture
def close_sessions():
    sessions = []
    yield sessions
    for s in sessions:
        s.close()


# ----------------------------------------------------------------------------- the wire format

def test_values_round_trip_with_their_types():
    value = {"none": None, "flags": (True, False), "big": 2 ** 200, "floats": [1.5, float("inf")],
             "text": "π ≈ 3.14", "nested": ((1, [2, (3,)]), {"k": []}),
             "arrays": [np.arange(6, dtype=np.int8).reshape(2, 3), np.ones((2, 2), np.float32),
                        np.array([1 + 2j]), np.zeros((0, 3)), np.array(True), np.asfortranarray(np.eye(3))],
             "scalars": [np.float32(0.5), np.int64(7), np.bool_(True)]}
    back = roundtrip(value)
    assert back["flags"] == (True, False) and isinstance(back["nested"][0], tuple)
    assert back["big"] == 2 ** 200 and back["floats"][1] == float("inf") and back["text"] == "π ≈ 3.14"
    for a, b in zip(value["arrays"], back["arrays"]):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    assert [type(x) for x in back["scalars"]] == [np.float32, np.int64, np.bool_]
    assert np.isnan(roundtrip(float("nan")))


def test_a_generator_arrives_in_the_same_state():
    rng = np.random.default_rng(42)
    rng.random(3)
    copy = roundtrip(rng, allow=("rng",))
    assert np.array_equal(copy.random(5), rng.random(5))


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_an_array_of_pickled_objects_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    buf = io.BytesIO()
    np.save(buf, np.array([_Marker(str(marker))], dtype=object), allow_pickle=True)
    enc = wire.Encoder()
    node = enc.value(np.zeros(1))
    with pytest.raises(wire.WireError, match="numeric or bool"):
        wire.Decoder([buf.getvalue()]).value(node)
    assert not marker.exists()
    with pytest.raises(wire.WireError):
        wire.Encoder().value(np.array([object()]))


def test_a_result_over_the_size_limit_is_refused_before_it_is_serialised():
    """A learner's huge result costs the child no copy: the limit is checked on the array's size first
    (before, np.save wrote 648 MB twice, which under load ran past the 3-s check limit)."""
    import tracemalloc

    huge = np.broadcast_to(np.float64(1.0), (wire.LIMITS.max_bytes // 8 + 1,))   # > the limit; 8 bytes of memory
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match="arrays larger than"):
            wire.Encoder(convert=True).value({"a": np.zeros(3), "b": huge})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated while refusing"
    small = wire.Encoder(convert=True)
    small.value(np.zeros((2, 3)))                  # under the limit: still sent
    assert len(small.blobs) == 1


def test_an_array_header_that_lies_about_its_size_is_refused_before_allocating():
    buf = io.BytesIO()
    np.save(buf, np.zeros(2))
    blob = buf.getvalue().replace(b"(2,)", b"(999999999999,)".ljust(4))
    fixed = blob.replace(b"'shape': (999999999999,)", b"'shape': (99999999999,) ")   # same header length
    for bad in (blob, fixed, b"not an npy file"):
        with pytest.raises(wire.WireError):
            wire.load_array(bad)


def test_untagged_unknown_and_unexpected_values_are_refused():
    enc = wire.Encoder(callables=[])
    fn_node = enc.value(len)
    for node in ([1, 2], {"a": 1}, {"t": "pickle", "v": "..."}, fn_node, {"t": "nd", "i": 5}, {"t": "nd", "i": True}):
        with pytest.raises(wire.WireError):
            wire.Decoder(enc.blobs).value(node)
    deep = 0
    for _ in range(100):
        deep = {"t": "list", "v": [deep]}
    with pytest.raises(wire.WireError, match="nested"):
        wire.Decoder([]).value(deep)
    with pytest.raises(wire.WireError):
        wire.Encoder().value({1: "not a string key"})


def test_frames_that_break_a_limit_are_refused():
    class Small(wire.Limits):
        max_header = 100
        max_bytes = 1000

    def message(data: bytes):
        r, w = os.pipe()
        os.write(w, data)
        os.close(w)
        try:
            return wire.read_message(r, time.monotonic() + 5, Small())
        finally:
            os.close(r)

    good = wire.FRAME.pack(wire.MAGIC, 2, 0) + b"{}"
    assert message(good) == ({}, [])
    with pytest.raises(wire.WireError, match="magic"):
        message(b"XXXX" + good[4:])
    with pytest.raises(wire.WireError, match="too large"):
        message(wire.FRAME.pack(wire.MAGIC, 101, 0) + b"{" * 101)
    with pytest.raises(wire.WireError, match="larger than"):
        message(wire.FRAME.pack(wire.MAGIC, 2, 1) + b"{}" + wire.BLOB.pack(5000) + b"x" * 5000)
    with pytest.raises(wire.WireError, match="JSON object"):
        message(wire.FRAME.pack(wire.MAGIC, 2, 0) + b"[]")
    with pytest.raises(wire.PeerGone):
        message(good[:5])
    r, w = os.pipe()
    try:
        with pytest.raises(wire.Deadline):
            wire.read_message(r, time.monotonic() + 0.2)
    finally:
        os.close(r)
        os.close(w)


# ----------------------------------------------------------------------------- running student code

def test_each_statement_fails_alone(close_sessions):
    s = session_with("""
        a = 1
        b = 1 / 0
        c = a + 1
        def f():
            return c
    """)
    close_sessions.append(s)
    assert s.resolve("c") == ("value", 2)
    assert s.resolve("b")[0] == "missing"
    assert s.resolve("f")[0] == "callable"
    assert s.errors[0]["statements"][1]["type"] == "ZeroDivisionError"


def test_a_hang_is_killed_skipped_and_the_rest_replayed(close_sessions):
    s = session_with("counter = 0\nwhile True:\n    pass\nafter = counter + 1")
    s.add_cell(1, "import time\nwhile True:\n    try:\n        time.sleep(0.01)\n    except BaseException:\n        pass")
    s.add_cell(2, "last = after + 1")
    close_sessions.append(s)
    t0 = time.monotonic()
    assert s.resolve("last") == ("value", 2)
    assert time.monotonic() - t0 < 4 * QUICK.statement_timeout
    assert s.poisoned == {0: {1}, 1: {1}} and s.starts == 3
    assert any("ran for more than" in e for e in s.events)


def test_a_hung_process_is_killed_with_its_process_group(tmp_path):
    """Without seccomp and Landlock (which forbid starting it), a child's own subprocess dies with it."""
    settings = sandbox.Settings(timeout=2, statement_timeout=2, landlock=False, seccomp=False)
    proc = sandbox.SandboxProcess("numpy", settings)
    pidfile = tmp_path / "pid"
    try:
        with pytest.raises(sandbox.ChildFailure, match="ran for more than"):
            proc.exec_cell(0, f"import subprocess\np = subprocess.Popen(['sleep', '600'])\n"
                              f"open({str(pidfile)!r}, 'w').write(str(p.pid))\nwhile True:\n    pass", set(), 2)
    finally:
        proc.kill()
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_os_exit_costs_the_statement_or_the_call_only(close_sessions):
    s = session_with("import os\ndef quits(x):\n    os._exit(4)\ndef fine(x):\n    return x + 1\nos._exit(5)\nz = 3")
    close_sessions.append(s)
    assert s.resolve("z") == ("value", 3)
    budget = sandbox.Budget(3)
    with pytest.raises(sandbox.ProcessEnded, match="exit code 4"):
        s.proxy("quits", budget)(1)
    assert s.proxy("fine", budget)(1) == 2            # a fresh process, the code replayed


def test_exceptions_keep_their_name_and_not_implemented_stays_itself(close_sessions):
    s = session_with("""
        class MyOwnError(Exception):
            pass
        def bad(x):
            raise ValueError(f"bad value {x}")
        def mine(x):
            raise MyOwnError("mine")
        def todo(x):
            raise NotImplementedError()
        def exits(x):
            raise SystemExit(3)
    """)
    close_sessions.append(s)
    budget = sandbox.Budget(3)
    with pytest.raises(sandbox.LearnerError, match="bad value 7") as e:
        s.proxy("bad", budget)(7)
    assert type(e.value).__name__ == "ValueError" and not isinstance(e.value, ValueError)
    with pytest.raises(sandbox.LearnerError) as e:
        s.proxy("mine", budget)(1)
    assert type(e.value).__name__ == "MyOwnError"
    with pytest.raises(NotImplementedError):
        s.proxy("todo", budget)(1)
    with pytest.raises(sandbox.LearnerError) as e:
        s.proxy("exits", budget)(1)
    assert type(e.value).__name__ == "SystemExit"


def test_the_time_limit_covers_all_calls_of_one_check(close_sessions):
    s = session_with("import time\ndef slow(x):\n    time.sleep(x)\n    return x")
    close_sessions.append(s)
    budget = sandbox.Budget(1.0)
    slow = s.proxy("slow", budget)
    assert slow(0.6) == 0.6
    with pytest.raises(sandbox.TimeLimitExceeded, match="time limit"):
        slow(0.6)
    assert sandbox.Budget(3) and s.proxy("slow", sandbox.Budget(3))(0.1) == 0.1   # the next check starts afresh


def test_callbacks_and_in_place_changes_behave_as_with_a_local_function(close_sessions):
    s = session_with("""
        import numpy as np
        def numgrad(f, x, eps):
            g = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                old = x[i]
                x[i] = old + eps; plus = f(x)
                x[i] = old - eps; minus = f(x)
                x[i] = old
                g[i] = (plus - minus) / (2 * eps)
            return g
        def scribble(x):
            x[...] = -1
            return None
        def swallow(f, x):
            try:
                f(x)
            except Exception:
                pass
            return 0.0
    """)
    close_sessions.append(s)
    budget = sandbox.Budget(5)
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    g = s.proxy("numgrad", budget)(lambda v: float(np.sum(v ** 3)), x, 1e-5)
    assert np.allclose(g, 3 * x ** 2, atol=1e-6)
    y = np.zeros(3)
    s.proxy("scribble", budget)(y)
    assert np.array_equal(y, [-1, -1, -1])            # the checker sees the change, as it would locally

    def refuses(v):
        raise AssertionError("the checker's own verdict")
    with pytest.raises(AssertionError, match="checker's own verdict"):
        s.proxy("swallow", budget)(refuses, x)       # the learner cannot swallow the checker's failure


def test_a_reply_the_grader_cannot_read_costs_the_call(close_sessions):
    s = session_with("""
        import os
        def garbage(x):
            for fd in range(3, 40):
                try:
                    os.write(fd, b"CLS1" + b"\\xff" * 12)
                except OSError:
                    pass
            return x
        def objects(x):
            return [object()]
        def fine(x):
            return x
    """)
    close_sessions.append(s)
    budget = sandbox.Budget(3)
    with pytest.raises(sandbox.UnreadableResult):
        s.proxy("garbage", budget)(1)
    with pytest.raises(sandbox.LearnerError, match="cannot be sent to the grader"):
        s.proxy("objects", budget)(1)
    assert s.proxy("fine", budget)(5) == 5


def test_resource_limits_are_hard(close_sessions):
    s = session_with("""
        import resource
        try:
            big = bytearray(8 << 30)
        except MemoryError:
            big = "MemoryError"
        try:
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            raised = "raised"
        except (ValueError, OSError):
            raised = "refused"
    """)
    close_sessions.append(s)
    assert s.resolve("big") == ("value", "MemoryError")
    assert s.resolve("raised") == ("value", "refused")
    assert s.sandbox_info["limits"]["RLIMIT_AS"] == QUICK.memory_mb << 20


def test_the_framework_and_course_lib_are_not_importable_from_scratch(close_sessions):
    s = session_with("""
        results = {}
        for name in ("tensorflow", "keras", "course_lib", "nbgrader"):
            try:
                __import__(name)
                results[name] = "imported"
            except ImportError:
                results[name] = "absent"
    """)
    close_sessions.append(s)
    assert s.resolve("results") == ("value", dict.fromkeys(["tensorflow", "keras", "course_lib", "nbgrader"], "absent"))


@needs_landlock
def test_landlock_keeps_the_framework_out_even_with_sys_path_changed(close_sessions):
    site = [p for p in sys.path if p.endswith("site-packages")]
    s = session_with(f"""
        import sys
        sys.path[:0] = {site!r}
        try:
            import ml_dtypes
            got = "imported"
        except ImportError:
            got = "absent"
    """)
    close_sessions.append(s)
    assert s.resolve("got") == ("value", "absent")


def test_a_framework_library_loaded_anyway_is_detected(close_sessions):
    """Without Landlock the student can put site-packages back on sys.path; the grader then sees
    the framework's shared libraries in the child's memory map (and fails from-scratch checks)."""
    site = [p for p in sys.path if p.endswith("site-packages")]
    s = session_with(f"import sys\nsys.path[:0] = {site!r}\nimport ml_dtypes",
                     sandbox.Settings(timeout=10, statement_timeout=30, landlock=False))
    close_sessions.append(s)
    assert s.resolve("ml_dtypes")[0] in ("value", "unsendable", "missing")
    libs = s.loaded_libraries()
    assert any("ml_dtypes" in p for p in libs), libs
    clean = session_with("import numpy as np\nx = np.linalg.inv(np.eye(2))")
    close_sessions.append(clean)
    assert clean.resolve("x")[0] == "value" and clean.loaded_libraries() == []


@needs_landlock
def test_landlock_confines_files_and_network(close_sessions, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    outside = tmp_path / "outside.txt"
    s = session_with(f"""
        import socket
        def attempt(f):
            try:
                f()
                return "allowed"
            except OSError as e:
                return type(e).__name__
        read_repo = attempt(lambda: open({str(REPO / "course_lib" / "checks" / "conv.py")!r}).read())
        write_out = attempt(lambda: open({str(outside)!r}, "w").write("x"))
        write_own = attempt(lambda: open("mine.txt", "w").write("x"))
        connect = attempt(lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
    """)
    close_sessions.append(s)
    try:
        assert s.resolve("read_repo") == ("value", "PermissionError")
        assert s.resolve("write_out") == ("value", "PermissionError") and not outside.exists()
        assert s.resolve("write_own") == ("value", "allowed")
        if LANDLOCK >= 4:
            assert s.resolve("connect") == ("value", "PermissionError")
    finally:
        server.close()


@needs_seccomp
def test_seccomp_forbids_processes_exec_and_signals_but_not_threads(close_sessions):
    s = session_with("""
        import os, signal, subprocess, threading
        def attempt(f):
            try:
                f()
                return "allowed"
            except OSError as e:
                return type(e).__name__
        fork = attempt(os.fork)
        spawn = attempt(lambda: subprocess.run(["true"]))
        kill_parent = attempt(lambda: os.kill(os.getppid(), signal.SIGKILL))
        kill_group = attempt(lambda: os.killpg(os.getpgid(os.getppid()), signal.SIGKILL))
        me = attempt(lambda: os.kill(os.getpid(), 0))
        box = []
        t = threading.Thread(target=lambda: box.append(1)); t.start(); t.join()
        thread = "allowed" if box else "failed"
    """)
    close_sessions.append(s)
    for name in ("fork", "spawn", "kill_parent", "kill_group"):
        assert s.resolve(name) == ("value", "PermissionError"), name
    assert s.resolve("me") == ("value", "allowed") and s.resolve("thread") == ("value", "allowed")


def test_the_child_dies_with_the_grader(tmp_path):
    """PR_SET_PDEATHSIG: a grader that dies without cleaning up takes its sandbox with it."""
    script = tmp_path / "grader.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(REPO / "classroom")!r})
        import sandbox
        p = sandbox.SandboxProcess("numpy", sandbox.Settings())
        print(p.proc.pid, flush=True)
        os._exit(0)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    pid = int(out.stdout.split()[0])
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()


# ----------------------------------------------------------------------------- the grader's side

def test_free_names_and_the_checker_policy():
    assert grading.free_names("from m import check\ncheck(conv2d, np.pi)\ndef g():\n    return h") >= {"conv2d", "np", "h"}
    assert "check" not in grading.free_names("from m import check\ncheck(f)")
    assert grading.checker_policy("from course_lib.checks.conv import check_conv2d\ncheck_conv2d(conv2d)") == "numpy"
    assert grading.checker_policy("from course_lib.checks.gan import check_hinge_discriminator_loss") == "framework"
    assert grading.checker_policy("from course_lib.checks.gan import check_conv_transpose_output_size") == "numpy"
    with pytest.raises(ImportError):
        grading.checker_policy("from course_lib.checks.nope import check")


def test_ipython_syntax_becomes_calls_the_sandbox_ignores(close_sessions):
    src = grading.python_source("%matplotlib inline\n!ls\nx = 1\n%timeit x\ny = x + 1")
    s = session_with(src)
    close_sessions.append(s)
    assert s.resolve("y") == ("value", 2)
