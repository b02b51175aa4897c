"""Grading sandbox, grader side: run a student's notebook code in a child process and call it.

The grader (the ``nbgrader autograde`` process, see grading.py) never runs student code. It
starts a child (sandbox_child.py) per submission and per policy:

* ``"numpy"`` (from scratch, the default): the child can import the standard library and numpy,
  nothing else; TensorFlow, Keras and course_lib are absent.
* ``"framework"``: the child can also import the installed packages (TensorFlow, Keras, ...),
  still not course_lib; for exercises whose checker says the learner may use the framework.

:class:`StudentSession` feeds the notebook's code cells to the child one by one; the child runs
each statement separately, so one failing statement costs only itself. A statement that runs
longer than the time limit, or kills its process, is marked and skipped: the child is killed
(with its process group), a new one starts and the cells before are run again without the marked
statements. :meth:`StudentSession.proxy` gives the grader a function that forwards calls to the
learner's function in the child, with the same limits per call; the checkers call it as if it
were the learner's function.

What crosses the pipe is data only (sandbox_child.py describes the format): the grader never
unpickles, evaluates or imports anything the child produced.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
import sandbox_child as wire  # noqa: E402  (the wire format, shared with the child)

POLICIES = ("numpy", "framework")
CHILD_FILE = HERE / "sandbox_child.py"


@dataclasses.dataclass
class Settings:
    """Limits of one sandbox (see classroom/README.md, "Grading settings")."""
    timeout: float = 180.0            # s: the learner's code's share of one check (all its calls together)
    statement_timeout: float = 180.0  # s: one top-level statement of the student's code
    startup_timeout: float = 60.0     # s: a child's start-up (python + numpy)
    memory_mb: int = 4096             # address space of a numpy-only child
    framework_memory_mb: int = 8192   # address space of a child that may import TensorFlow (TF alone: ~2 GB)
    cpu_seconds: int = 3600           # CPU time of one child, all statements and calls together
    file_mb: int = 256                # largest file a child may write (in its own folder)
    max_starts: int = 20              # children per session (the first, then restarts after hangs/crashes)
    landlock: bool = True             # restrict files, TCP and signals where the kernel supports it
    seccomp: bool = True              # no new processes, no exec, no signals to other processes


class SandboxError(RuntimeError):
    """The sandbox could not be set up: a problem of the grading machine, not of the submission."""


class LearnerError(Exception):
    """Raised in the grader for what the learner's code did in the child."""


class TimeLimitExceeded(LearnerError):
    pass


class ProcessEnded(LearnerError):
    pass


class UnreadableResult(LearnerError):
    pass


_raised_types: dict[str, type] = {}


def learner_exception(info: dict) -> Exception:
    """The exception to raise in the grader for an exception the learner's code raised in the child.

    NotImplementedError stays NotImplementedError (the checkers say "not implemented yet");
    other exceptions become a LearnerError subclass carrying the child's type name, so that
    messages read "your function raised ValueError: ...". No child class is ever instantiated.
    """
    message = str(info.get("message", ""))[:4000]
    if info.get("not_implemented"):
        return NotImplementedError(message)
    name = str(info.get("type", "Exception"))
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,59}", name):
        name = "Exception"
    cls = _raised_types.get(name)
    if cls is None:
        cls = _raised_types[name] = type(name, (LearnerError,), {"__module__": "student"})
    return cls(message)


class ChildFailure(Exception):
    """The child hung, died or broke the protocol while running statement ``statement`` (or between)."""

    def __init__(self, statement, reason):
        super().__init__(reason)
        self.statement, self.reason = statement, reason


class Budget:
    """Seconds the learner's code may still use in one check (grader-side time is not counted)."""

    def __init__(self, seconds: float):
        self.left = float(seconds)

    def spend(self, seconds: float):
        self.left -= seconds


# --------------------------------------------------------------------------- one child process

def _stdlib_dirs() -> list[str]:
    stdlib = sysconfig.get_paths()["stdlib"]
    dirs = [os.path.join(sys.base_prefix, "lib", f"python{sys.version_info[0]}{sys.version_info[1]}.zip"),
            stdlib, os.path.join(stdlib, "lib-dynload")]
    return [d for d in dirs if os.path.exists(d)]


def _site_packages() -> list[str]:
    return [p for p in site.getsitepackages() if os.path.isdir(p)]


def _numpy_dirs() -> list[str]:
    pkg = os.path.dirname(np.__file__)
    libs = os.path.join(os.path.dirname(pkg), "numpy.libs")
    return [pkg] + ([libs] if os.path.isdir(libs) else [])


def _entries_except_python(folder: str, skip=("site-packages", "dist-packages")) -> list[str]:
    """The entries of ``folder``, leaving out Python package folders (so that granting read
    access to a library folder does not grant access to the packages installed under it)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if n not in skip and not n.startswith("python")]


def landlock_rules(policy: str, root: Path) -> dict:
    """What a child may read and write under Landlock."""
    stdlib = sysconfig.get_paths()["stdlib"]
    read = _entries_except_python(stdlib, skip=("site-packages", "dist-packages"))
    read += [p for p in _stdlib_dirs() if p.endswith(".zip")]
    for libdir in ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib",
                   os.path.join(sys.base_prefix, "lib")):
        read += _entries_except_python(libdir)
    read += ["/etc/ld.so.cache", "/dev/urandom", "/dev/random", str(root / "boot"), str(root / "pkgs")]
    read += _numpy_dirs()
    if policy == "framework":
        read += _site_packages() + ["/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu",
                                    "/sys/fs/cgroup"]
    return {"read": read, "write": [str(root / "work")], "devnull": os.devnull}


def python_path(policy: str, pkgs: Path) -> list[str]:
    path = _stdlib_dirs()
    if policy == "framework":
        return path + _site_packages()
    pkgs.mkdir(exist_ok=True)
    for target in _numpy_dirs():
        link = pkgs / os.path.basename(target)
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    return path + [str(pkgs)]


class SandboxProcess:
    """One sandboxed child: start it, run cells, resolve names, call functions, kill it."""

    def __init__(self, policy: str, settings: Settings):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        self.policy, self.settings, self.alive = policy, settings, False
        self.root = Path(tempfile.mkdtemp(prefix="classroom-sandbox-"))
        self.proc = None
        self._to_child = self._from_child = None
        try:
            self._start()
        except BaseException:
            self.kill()
            raise

    def _start(self):
        s = self.settings
        for sub in ("work", "boot", "pkgs"):
            (self.root / sub).mkdir()
        shutil.copy(CHILD_FILE, self.root / "boot" / "sandbox_child.py")
        memory = s.framework_memory_mb if self.policy == "framework" else s.memory_mb
        limits = {"RLIMIT_CPU": s.cpu_seconds, "RLIMIT_AS": memory << 20, "RLIMIT_FSIZE": s.file_mb << 20,
                  "RLIMIT_NOFILE": 512, "RLIMIT_CORE": 0}
        if self.policy == "numpy" and os.geteuid() != 0:
            limits["RLIMIT_NPROC"] = 0          # no new processes or threads (root is exempt from this limit)
        child_r, parent_w = os.pipe()
        parent_r, child_w = os.pipe()
        work = self.root / "work"
        cfg = {"fds": [child_r, child_w], "policy": self.policy, "workdir": str(work),
               "path": python_path(self.policy, self.root / "pkgs"), "limits": limits,
               "log": str(self.root / "child.log"),
               "landlock": landlock_rules(self.policy, self.root) if s.landlock else None,
               "seccomp": s.seccomp}
        (self.root / "boot" / "boot.json").write_text(json.dumps(cfg))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "TMPDIR": str(work), "LANG": "C.UTF-8",
               "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "",
               "KERAS_HOME": str(work / ".keras")}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(self.root / "boot" / "sandbox_child.py"),
                 str(self.root / "boot" / "boot.json")],
                cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(child_r, child_w), start_new_session=True)
        except OSError as e:
            raise SandboxError(f"could not start the sandbox ({sys.executable}): {e}") from None
        finally:
            os.close(child_r)
            os.close(child_w)
        self._to_child, self._from_child = parent_w, parent_r
        self.alive = True
        try:
            ready, _ = wire.read_message(self._from_child, time.monotonic() + s.startup_timeout)
        except (wire.PeerGone, wire.Deadline, wire.WireError, OSError) as e:
            raise SandboxError(f"the sandbox did not start ({type(e).__name__}); its log:\n{self.log_tail()}") from None
        if ready.get("ev") != "ready":
            raise SandboxError(f"the sandbox sent {ready!r} instead of 'ready'")
        self.info = ready

    # ----------------------------------------------------------------- plumbing

    def log_tail(self, n: int = 3000) -> str:
        try:
            return (self.root / "child.log").read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def exit_status(self) -> str:
        if self.proc is None:
            return "did not start"
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "still running"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self):
        """Kill the child and everything in its process group; remove its folder."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for fd in (self._to_child, self._from_child):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._to_child = self._from_child = None
        self.alive = False
        shutil.rmtree(self.root, ignore_errors=True)

    def _send(self, header, blobs=(), deadline=None):
        wire.write_message(self._to_child, header, blobs, deadline)

    def _failure(self, statement, reason):
        self.kill()
        return ChildFailure(statement, reason)

    # ----------------------------------------------------------------- requests

    def exec_cell(self, index: int, source: str, skip: set, timeout: float):
        """Run one cell, statement by statement. Returns ({statement: error or None}, syntax error or None).

        Raises ChildFailure (and kills the child) if a statement runs longer than ``timeout``
        seconds, the child dies, or it breaks the protocol.
        """
        current, errors = None, {}
        try:
            self._send({"op": "exec", "cell": index, "source": source, "skip": sorted(skip)},
                       deadline=time.monotonic() + timeout)
            deadline = time.monotonic() + timeout
            while True:
                ev, _ = wire.read_message(self._from_child, deadline)
                kind = ev.get("ev")
                if kind == "start" and isinstance(ev.get("i"), int):
                    current, deadline = ev["i"], time.monotonic() + timeout
                elif kind == "done" and isinstance(ev.get("i"), int):
                    errors[ev["i"]] = ev.get("error")
                    current, deadline = None, time.monotonic() + timeout
                elif kind == "end":
                    return errors, ev.get("error")
                else:
                    raise wire.WireError(f"unexpected message {str(ev)[:200]}")
        except wire.Deadline:
            raise self._failure(current, f"ran for more than {timeout:g} s") from None
        except wire.PeerGone:
            status = self.exit_status()
            raise self._failure(current, f"ended the process ({status})") from None
        except (wire.WireError, OSError) as e:
            raise self._failure(current, f"broke the grader's protocol ({e})") from None

    def resolve(self, name: str, timeout: float):
        """('missing' | 'callable' | 'value' | 'unsendable', value or type name) of a global name."""
        try:
            self._send({"op": "resolve", "name": name}, deadline=time.monotonic() + timeout)
            ev, blobs = wire.read_message(self._from_child, time.monotonic() + timeout)
            kind = ev.get("kind")
            if ev.get("ev") != "resolved" or kind not in ("missing", "callable", "value", "unsendable"):
                raise wire.WireError("bad reply")
            if kind == "value":
                return kind, wire.Decoder(blobs).value(ev.get("value"))
            return kind, str(ev.get("type", ""))[:100]
        except wire.Deadline:
            raise self._failure(None, f"did not answer within {timeout:g} s") from None
        except wire.PeerGone:
            raise self._failure(None, f"ended the process ({self.exit_status()})") from None
        except (wire.WireError, OSError) as e:
            raise self._failure(None, f"broke the grader's protocol ({e})") from None

    def names(self, timeout: float) -> list[tuple[str, str]]:
        """(name, 'callable' | 'array') of the globals the notebook defined."""
        try:
            self._send({"op": "names"}, deadline=time.monotonic() + timeout)
            ev, _ = wire.read_message(self._from_child, time.monotonic() + timeout)
            return [(str(n), str(k)) for n, k in ev.get("names", [])]
        except (wire.Deadline, wire.PeerGone, wire.WireError, OSError, TypeError, ValueError) as e:
            raise self._failure(None, f"could not list the names ({type(e).__name__})") from None

    def call(self, name: str, args: tuple, kwargs: dict, budget: Budget):
        """Call the learner's ``name(*args, **kwargs)`` in the child; return the decoded result.

        Raises what the learner's code raised (see learner_exception), TimeLimitExceeded when the
        budget runs out, ProcessEnded when the child dies, UnreadableResult for a reply the
        grader refuses. In-place changes to array arguments are copied back, so a checker that
        checks "x came back unchanged" works as with a local function.
        """
        callables: list = []
        enc = wire.Encoder(callables=callables)
        header = {"op": "call", "name": name, "args": enc.value(list(args)), "kwargs": enc.value(dict(kwargs))}
        start, outside = time.monotonic(), 0.0
        grader_error = None
        try:
            self._send(header, enc.blobs, deadline=start + max(budget.left, 0.01) + 30)
            while True:
                deadline = start + outside + max(budget.left, 0.0)
                ev, blobs = wire.read_message(self._from_child, deadline)
                kind = ev.get("ev")
                if kind == "callback":
                    t0 = time.monotonic()
                    reply, reply_blobs, grader_error = self._callback(ev, blobs, callables, grader_error)
                    outside += time.monotonic() - t0
                    self._send(reply, reply_blobs, deadline=time.monotonic() + 60)
                    continue
                budget.spend(time.monotonic() - start - outside)
                if kind == "return":
                    value = wire.Decoder(blobs).value(ev.get("value"))
                    self._copy_back(args, ev.get("mutated", []), blobs)
                    break
                if kind == "raise":
                    if grader_error is not None:
                        raise grader_error
                    raise learner_exception(ev)
                raise wire.WireError(f"unexpected message {str(ev)[:200]}")
        except wire.Deadline:
            budget.spend(time.monotonic() - start - outside)
            self.kill()
            raise TimeLimitExceeded(f"your code ran for more than the time limit ({self.settings.timeout:g} s "
                                    "for one check) and was stopped") from None
        except wire.PeerGone:
            status = self.exit_status()
            self.kill()
            raise ProcessEnded(f"the process running your code ended during this call ({status})") from None
        except (wire.WireError, OSError) as e:
            self.kill()
            raise UnreadableResult(f"the grader cannot read what your code sent back: {e}") from None
        if grader_error is not None:
            raise grader_error
        return value

    def _callback(self, ev, blobs, callables, grader_error):
        """Run a grader-side function the learner's code called; its result goes back as data."""
        fid = ev.get("id")
        if not isinstance(fid, int) or not 0 <= fid < len(callables):
            return {"op": "callback_error", "message": "no such function"}, [], grader_error
        try:
            args, kwargs = wire.Decoder(blobs).value(ev.get("args"))
            result = callables[fid](*args, **kwargs)
            enc = wire.Encoder()
            return {"op": "callback_result", "value": enc.value(result)}, enc.blobs, grader_error
        except AssertionError as e:           # e.g. a checker's CheckFailure: it wins over whatever follows
            return {"op": "callback_error", "message": f"{type(e).__name__}: {e}"}, [], grader_error or e
        except Exception as e:
            return {"op": "callback_error", "message": f"{type(e).__name__}: {e}"}, [], grader_error

    @staticmethod
    def _copy_back(args, mutated, blobs):
        dec = wire.Decoder(blobs)
        if not isinstance(mutated, list):
            return
        for item in mutated:
            try:
                index, node = item
                new = dec.value(node)
                old = args[index]
                if isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and new.shape == old.shape:
                    np.copyto(old, new, casting="unsafe")
            except (TypeError, ValueError, IndexError, wire.WireError):
                continue

    def loaded_libraries(self) -> list[str]:
        """Shared libraries mapped into the child that come from installed packages other than numpy."""
        if self.proc is None or not self.alive:
            return []
        try:
            maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return []
        sites = [os.path.realpath(p) + os.sep for p in _site_packages()]
        allowed = [os.path.realpath(p) + os.sep for p in _numpy_dirs()]
        found = set()
        for line in maps.splitlines():
            parts = line.split(None, 5)
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            path = os.path.realpath(parts[5].strip())
            if any(path.startswith(s) for s in sites) and not any(path.startswith(a) for a in allowed):
                found.add(path)
        return sorted(found)


# --------------------------------------------------------------------------- a restartable session

class StudentSession:
    """A notebook's code cells, run in a sandbox that is restarted (and replayed) when needed.

    ``add_cell`` queues a cell; it runs (statement by statement) before the next resolve or call.
    A statement that hangs or kills the child is recorded in ``events``, skipped from then on, and
    the cells before it run again in a fresh child. After ``settings.max_starts`` children the
    session gives up (``broken``): the remaining checks fail. If no child can start at all,
    ``infra`` holds the reason (a problem of the grading machine).
    """

    def __init__(self, policy: str, settings: Settings):
        self.policy, self.settings = policy, settings
        self.cells: list[tuple[int, str]] = []
        self.done = 0
        self.poisoned: dict[int, set] = {}
        self.errors: dict[int, dict] = {}
        self.events: list[str] = []
        self.proc: SandboxProcess | None = None
        self.starts = 0
        self.broken: str | None = None
        self.infra: str | None = None
        self.sandbox_info: dict = {}

    def add_cell(self, index: int, source: str):
        self.cells.append((index, source))

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc = None

    def _start(self):
        if self.starts >= self.settings.max_starts:
            self.broken = (f"your code stopped or hung the grading process {self.starts} times; "
                           "the grader gave up on the rest of this notebook")
            return
        self.starts += 1
        try:
            self.proc = SandboxProcess(self.policy, self.settings)
        except SandboxError as e:
            self.infra = str(e)
            return
        self.sandbox_info = self.proc.info
        self.done = 0

    def _lost_child(self):
        if self.proc is not None and not self.proc.alive:
            self.proc = None

    def advance(self) -> bool:
        """Run the queued cells; True if a live child has run them all."""
        while not (self.broken or self.infra):
            self._lost_child()
            if self.proc is None:
                self._start()
                continue
            if self.done >= len(self.cells):
                return True
            index, source = self.cells[self.done]
            skip = self.poisoned.get(index, set())
            if "*" in skip:
                self.done += 1
                continue
            try:
                errors, syntax = self.proc.exec_cell(index, source, skip, self.settings.statement_timeout)
            except ChildFailure as f:
                where = f"statement {f.statement + 1}" if f.statement is not None else "a statement"
                self.events.append(f"cell {index}, {where}: {f.reason}; the grader skips it from now on")
                self.poisoned.setdefault(index, set()).add("*" if f.statement is None else f.statement)
                self.proc = None
                continue
            self.errors[index] = {"statements": errors, "syntax": syntax}
            self.done += 1
        return False

    def failure_reason(self) -> str:
        if self.infra:
            return self.infra
        return self.broken or "the grading process is not running"

    def resolve(self, name: str):
        """Like SandboxProcess.resolve; ('missing', reason) when the session cannot run."""
        for _ in range(2):
            if not self.advance():
                return "missing", self.failure_reason()
            try:
                return self.proc.resolve(name, self.settings.statement_timeout)
            except ChildFailure as f:
                self.events.append(f"looking up {name!r}: the process {f.reason}")
                self.proc = None
        return "missing", self.failure_reason()

    def names(self) -> list[tuple[str, str]]:
        if not self.advance():
            return []
        try:
            return self.proc.names(self.settings.statement_timeout)
        except ChildFailure:
            self.proc = None
            return []

    def call(self, name: str, args, kwargs, budget: Budget):
        if not self.advance():
            if self.infra:
                raise SandboxError(self.infra)
            raise ProcessEnded(self.failure_reason())
        try:
            return self.proc.call(name, args, kwargs, budget)
        finally:
            self._lost_child()

    def proxy(self, name: str, budget: Budget):
        """A grader-side stand-in for the learner's function ``name``: calls go to the child."""
        session = self

        def learner_function(*args, **kwargs):
            return session.call(name, args, kwargs, budget)

        learner_function.__name__ = learner_function.__qualname__ = name
        learner_function.__doc__ = f"The learner's {name}, running in the grading sandbox."
        return learner_function

    def loaded_libraries(self) -> list[str]:
        return self.proc.loaded_libraries() if self.proc is not None else []
