"""Grading sandbox, child side: run a student's notebook code and answer the grader's calls.

classroom/sandbox.py starts this file as ``python -I -S sandbox_child.py BOOT.json`` in a fresh
temporary folder. Before any student code runs, the child

  1. asks the kernel to kill it when the grader dies (PR_SET_PDEATHSIG);
  2. sets hard resource limits on itself: CPU seconds, address space, file size, open files,
     no core dumps, and (numpy-only children) no new processes or threads;
  3. puts only the standard library and the allowed packages on ``sys.path``: numpy alone for a
     from-scratch exercise (TensorFlow, Keras and course_lib are not importable), or the whole
     site-packages folder for an exercise that may use the framework (course_lib still not);
  4. on Linux, where the kernel allows it, restricts itself with Landlock (files: read the
     standard library, the allowed packages and the system libraries, write only its own folder;
     no TCP; no signals to processes outside the sandbox; no ptrace) and with a seccomp filter
     (no new processes, no exec, no signals to other processes);
  5. answers the grader's requests: run a cell statement by statement, say what a name is, call
     a function with arguments, list the names a notebook defined.

The wire format (both directions): a frame header ``>4sII`` (magic, JSON length, number of
arrays), a UTF-8 JSON object, then each array as ``>Q`` length + one ``.npy`` file. Values inside
the JSON are None, bool, int, float, str, or a tagged object ``{"t": ..., ...}``: tuple, list,
dict (string keys), nd (an array), scalar (a numpy scalar), and from the grader only: fn (a
grader-side function the child may call back), rng (a numpy Generator's state), tensor (an array
the child turns into a tf.constant when TensorFlow is allowed). Arrays must be numeric or bool,
never objects; every .npy header is checked against its size before numpy reads it with
``np.load(allow_pickle=False)``. Nothing is pickled, in either direction.

This file uses only the standard library and numpy: it runs inside the sandbox, and the grader
imports it for the wire format.
"""
from __future__ import annotations

import ast
import builtins
import io
import json
import math
import os
import select
import struct
import sys
import time
import traceback

MAGIC = b"CLS1"
FRAME = struct.Struct(">4sII")
BLOB = struct.Struct(">Q")


class Limits:
    """Caps on one message; a message over any of them is refused (WireError)."""
    max_header = 8 << 20          # bytes of JSON
    max_arrays = 4096             # arrays per message
    max_bytes = 512 << 20         # bytes of JSON + arrays
    max_depth = 32                # nesting of tuples, lists, dicts
    max_items = 1 << 20           # values in one message
    max_str = 1 << 20             # characters of one string
    max_ndim = 32


LIMITS = Limits()
ARRAY_KINDS = "biufc"             # bool, signed, unsigned, float, complex
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64")


class WireError(ValueError):
    """A message that breaks the wire format or one of its limits."""


class PeerGone(EOFError):
    """The other side closed its end of the pipe."""


class Deadline(TimeoutError):
    """A read or write did not finish before its deadline."""


# --------------------------------------------------------------------------- framing

def _wait(fd, for_write, deadline):
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Deadline()
    r, w, _ = select.select([] if for_write else [fd], [fd] if for_write else [], [], remaining)
    if not (r or w):
        raise Deadline()


def read_exact(fd, n, deadline=None) -> bytes:
    chunks, left = [], n
    while left:
        _wait(fd, False, deadline)
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise PeerGone()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_all(fd, data: bytes, deadline=None) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, True, deadline)
        try:
            n = os.write(fd, view[: 1 << 20])
        except BrokenPipeError:
            raise PeerGone() from None
        view = view[n:]


def write_message(fd, header: dict, blobs=(), deadline=None) -> None:
    body = json.dumps(header, separators=(",", ":")).encode("utf-8")
    parts = [FRAME.pack(MAGIC, len(body), len(blobs)), body]
    for blob in blobs:
        parts += [BLOB.pack(len(blob)), blob]
    write_all(fd, b"".join(parts), deadline)


def read_message(fd, deadline=None, limits=LIMITS):
    """(header dict, [array bytes]) of the next message; WireError if it breaks a limit."""
    magic, n_header, n_arrays = FRAME.unpack(read_exact(fd, FRAME.size, deadline))
    if magic != MAGIC:
        raise WireError("not a message (bad magic)")
    if n_header > limits.max_header or n_arrays > limits.max_arrays:
        raise WireError(f"message too large ({n_header} bytes of JSON, {n_arrays} arrays)")
    raw = read_exact(fd, n_header, deadline)
    total, blobs = n_header, []
    for _ in range(n_arrays):
        (size,) = BLOB.unpack(read_exact(fd, BLOB.size, deadline))
        total += size
        if total > limits.max_bytes:
            raise WireError(f"message larger than {limits.max_bytes} bytes")
        blobs.append(read_exact(fd, size, deadline))
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as e:
        raise WireError(f"unreadable JSON ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise WireError("a message must be a JSON object")
    return header, blobs


# --------------------------------------------------------------------------- values

class Encoder:
    """Turns a value into JSON-able nodes plus a list of .npy blobs (see the module docstring).

    ``callables``: a list to collect functions in (grader side: the child may call them back);
    None refuses functions. ``convert``: also turn array-like objects (a tf.Tensor, anything
    with ``.numpy()`` or ``__array__``) into arrays (child side: the learner's results).
    """

    def __init__(self, callables=None, convert=False, limits=LIMITS):
        self.blobs, self.callables, self.convert, self.limits = [], callables, convert, limits
        self.items, self.size = 0, 0

    def value(self, v, depth=0):
        import numpy as np

        self.items += 1
        if depth > self.limits.max_depth or self.items > self.limits.max_items:
            raise WireError("the value is nested too deeply or has too many parts")
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, np.generic):
            return {"t": "scalar", "i": self._array(np.asarray(v))}
        if isinstance(v, int):
            if v.bit_length() > 256:
                raise WireError("an integer with more than 256 bits")
            return int(v)
        if isinstance(v, float):
            return float(v)
        if isinstance(v, str):
            if len(v) > self.limits.max_str:
                raise WireError("a string too long to send")
            return str(v)
        if isinstance(v, np.ndarray):
            return {"t": "nd", "i": self._array(np.asarray(v))}
        if isinstance(v, tuple):
            return {"t": "tuple", "v": [self.value(x, depth + 1) for x in v]}
        if isinstance(v, list):
            return {"t": "list", "v": [self.value(x, depth + 1) for x in v]}
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise WireError("a dict whose keys are not all strings")
            return {"t": "dict", "v": [[str(k), self.value(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, np.random.Generator):
            state = v.bit_generator.state
            if state.get("bit_generator") not in BIT_GENERATORS:
                raise WireError(f"cannot send a {state.get('bit_generator')} generator")
            return {"t": "rng", "state": state}
        if _is_tensor(v):     # grader side: the child rebuilds a tensor; child side: the learner's result
            return {"t": "nd" if self.convert else "tensor", "i": self._array(np.asarray(v.numpy()))}
        if self.callables is not None and callable(v):
            self.callables.append(v)
            return {"t": "fn", "i": len(self.callables) - 1}
        if self.convert:
            if callable(getattr(v, "numpy", None)):
                return {"t": "nd", "i": self._array(np.asarray(v.numpy()))}
            if hasattr(v, "__array__"):
                return {"t": "nd", "i": self._array(np.asarray(v))}
        raise WireError(f"cannot send an object of type {type(v).__name__}")

    def _array(self, a):
        import numpy as np

        if a.dtype.kind not in ARRAY_KINDS or a.dtype.fields is not None or a.ndim > self.limits.max_ndim:
            raise WireError(f"only numeric or bool arrays can be sent, not dtype {a.dtype}")
        if self.size + a.nbytes > self.limits.max_bytes:     # refuse before serialising (and copying) it
            raise WireError(f"arrays larger than {self.limits.max_bytes} bytes")
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        blob = buf.getvalue()
        self.size += len(blob)
        if self.size > self.limits.max_bytes:
            raise WireError(f"arrays larger than {self.limits.max_bytes} bytes")
        self.blobs.append(blob)
        return len(self.blobs) - 1


def _is_tensor(v):
    mod = type(v).__module__ or ""
    return mod.startswith(("tensorflow", "keras")) and callable(getattr(v, "numpy", None))


def load_array(blob: bytes, limits=LIMITS):
    """The array in one .npy blob, after checking its header against the blob's size."""
    import numpy as np
    from numpy.lib import format as npy

    fp = io.BytesIO(blob)
    try:
        version = npy.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = npy.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = npy.read_array_header_2_0(fp)
        else:
            raise WireError(f".npy version {version} is not accepted")
    except WireError:
        raise
    except Exception as e:
        raise WireError(f"bad .npy header ({type(e).__name__}: {e})") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.hasobject:
        raise WireError(f"arrays must be numeric or bool, not dtype {dtype}")
    if len(shape) > limits.max_ndim or any((not isinstance(n, int)) or n < 0 for n in shape):
        raise WireError(f"bad array shape {shape}")
    if math.prod(shape) * dtype.itemsize != len(blob) - fp.tell():
        raise WireError("array data does not match its header")
    fp.seek(0)
    a = np.load(fp, allow_pickle=False)
    if a.dtype.kind not in ARRAY_KINDS or a.shape != tuple(shape):
        raise WireError("array does not match its header")
    return np.array(a, copy=True)


class Decoder:
    """The inverse of Encoder, for the tags in ``allow`` only.

    ``fn``: makes a stand-in for a grader-side function from its index (child side);
    ``tensor``: turns an array sent as a tensor into what the learner should receive.
    """

    def __init__(self, blobs, allow=("scalar", "nd", "tuple", "list", "dict"), fn=None, tensor=None,
                 limits=LIMITS):
        self.blobs, self.allow, self.fn, self.tensor, self.limits = blobs, set(allow), fn, tensor, limits
        self.items = 0

    def value(self, node, depth=0):
        self.items += 1
        if depth > self.limits.max_depth or self.items > self.limits.max_items:
            raise WireError("the value is nested too deeply or has too many parts")
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            if len(node) > self.limits.max_str:
                raise WireError("a string too long")
            return node
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise WireError("an untagged list or object")
        tag = node["t"]
        if tag not in self.allow:
            raise WireError(f"a value of kind {tag!r} is not accepted here")
        if tag in ("nd", "scalar", "tensor"):
            a = self._array(node.get("i"))
            if tag == "scalar":
                if a.ndim != 0:
                    raise WireError("a scalar must be a 0-d array")
                return a[()]
            return self.tensor(a) if tag == "tensor" and self.tensor else a
        if tag in ("tuple", "list"):
            items = node.get("v")
            if not isinstance(items, list):
                raise WireError(f"bad {tag}")
            out = [self.value(x, depth + 1) for x in items]
            return tuple(out) if tag == "tuple" else out
        if tag == "dict":
            pairs = node.get("v")
            if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                                                      for p in pairs):
                raise WireError("bad dict")
            return {k: self.value(x, depth + 1) for k, x in pairs}
        if tag == "rng":
            return _generator(node.get("state"))
        if tag == "fn":
            i = node.get("i")
            if not isinstance(i, int) or self.fn is None:
                raise WireError("bad function reference")
            return self.fn(i)
        raise WireError(f"unknown tag {tag!r}")

    def _array(self, i):
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(self.blobs):
            raise WireError("bad array reference")
        return load_array(self.blobs[i], self.limits)


def _generator(state):
    import numpy as np

    if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
        raise WireError("bad generator state")
    gen = np.random.Generator(getattr(np.random, state["bit_generator"])())
    try:
        gen.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as e:
        raise WireError(f"bad generator state ({e})") from None
    return gen


def describe_exception(e: BaseException, skip_file: str | None = None, limit: int = 4000) -> dict:
    """A JSON-able description of an exception: type name, message, short traceback."""
    try:
        message = str(e)
    except Exception:
        message = "(the exception's message could not be shown)"
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename != skip_file]
        tb = "".join(traceback.format_list(frames[-8:]))
    except Exception:
        tb = ""
    return {"type": type(e).__name__[:80], "message": message[:limit], "traceback": tb[-limit:],
            "not_implemented": isinstance(e, NotImplementedError)}


# --------------------------------------------------------------------------- the sandbox itself

class _NoIPython:
    """Stands in for IPython's ``get_ipython()``: magics and shell escapes do nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _set_pdeathsig():
    try:
        import signal

        _libc().prctl(1, int(signal.SIGKILL), 0, 0, 0)      # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(70)                                      # the grader is already gone
    except Exception:
        pass


def _set_limits(limits: dict) -> dict:
    """Hard resource limits (soft = hard, so the student's code cannot raise them again)."""
    import resource

    applied = {}
    for name, value in limits.items():
        res = getattr(resource, name, None)
        if res is None or value is None:
            continue
        try:
            resource.setrlimit(res, (value, value))
            applied[name] = value
        except (ValueError, OSError):
            pass
    return applied


# Landlock (linux/landlock.h); see landlock(7).
_LL_FS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_LL_EXECUTE, _LL_WRITE_FILE, _LL_READ_FILE, _LL_READ_DIR = 1, 2, 4, 8
_LL_TRUNCATE, _LL_IOCTL_DEV = 1 << 14, 1 << 15
_LL_FILE_RIGHTS = _LL_EXECUTE | _LL_WRITE_FILE | _LL_READ_FILE | _LL_TRUNCATE | _LL_IOCTL_DEV
_LL_MAKE_SOCK, _LL_MAKE_FIFO, _LL_MAKE_CHAR, _LL_MAKE_BLOCK = 1 << 9, 1 << 10, 1 << 6, 1 << 11


def _landlock(rules: dict) -> int:
    """Restrict this process with Landlock; return the ABI version used (0: not available).

    rules: {"read": [paths], "write": [paths], "devnull": path}. Read paths get read access
    (files and directories beneath), write paths everything except executing, devices, sockets
    and fifos; the rest of the file system is out of reach. From ABI 4 TCP bind/connect are
    denied; from ABI 6 signals and abstract unix sockets outside the sandbox.
    """
    import ctypes

    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))   # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return 0
    fs = _LL_FS.get(abi, _LL_FS[5])

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    attr = RulesetAttr(fs, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = libc.syscall(444, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return 0
    read_dir = _LL_READ_FILE | _LL_READ_DIR
    write_dir = fs & ~(_LL_EXECUTE | _LL_MAKE_SOCK | _LL_MAKE_FIFO | _LL_MAKE_CHAR | _LL_MAKE_BLOCK | _LL_IOCTL_DEV)

    def allow(path, rights):
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= _LL_FILE_RIGHTS
            rule = PathBeneath(rights & fs, fd)
            libc.syscall(445, ruleset, 1, ctypes.byref(rule), ctypes.c_uint32(0))   # PATH_BENEATH
        finally:
            os.close(fd)

    for path in rules.get("read", []):
        allow(path, read_dir)
    for path in rules.get("write", []):
        allow(path, write_dir)
    if rules.get("devnull"):
        allow(rules["devnull"], _LL_READ_FILE | _LL_WRITE_FILE)
    if libc.prctl(38, 1, 0, 0, 0) != 0:                     # PR_SET_NO_NEW_PRIVS
        os.close(ruleset)
        return 0
    ok = libc.syscall(446, ruleset, ctypes.c_uint32(0)) == 0   # landlock_restrict_self
    os.close(ruleset)
    return abi if ok else 0


# seccomp: no new processes, no exec, no signals or ptrace towards other processes.
_ARCH = {"x86_64": (0xC000003E, dict(clone=56, fork=57, vfork=58, execve=59, execveat=322, clone3=435,
                                     ptrace=101, process_vm_readv=310, process_vm_writev=311, pidfd_getfd=438,
                                     kill=62, tkill=200, tgkill=234, rt_sigqueueinfo=129,
                                     rt_tgsigqueueinfo=297, pidfd_send_signal=424)),
         "aarch64": (0xC00000B7, dict(clone=220, execve=221, execveat=281, clone3=435, ptrace=117,
                                      process_vm_readv=270, process_vm_writev=271, pidfd_getfd=438,
                                      kill=129, tkill=130, tgkill=131, rt_sigqueueinfo=138,
                                      rt_tgsigqueueinfo=240, pidfd_send_signal=424))}
_CLONE_THREAD = 0x00010000


def _seccomp() -> bool:
    """Install the seccomp filter; True if it is in force (Linux x86_64 / aarch64 only)."""
    import ctypes
    import errno

    machine = os.uname().machine
    if machine not in _ARCH:
        return False
    arch, nr = _ARCH[machine]
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
    LD, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    prog = []          # (code, jump-if-true label, jump-if-false label, k); labels: int index or name

    def emit(code, k, jt=None, jf=None):
        prog.append([code, jt, jf, k])

    emit(LD, 4)                                           # arch
    emit(JEQ, arch, jf="deny")
    emit(LD, 0)                                           # syscall number
    emit(JGE, 0x40000000, jt="deny")                      # x32 ABI numbers
    emit(JEQ, nr["clone3"], jt="nosys")
    emit(JEQ, nr["clone"], jt="clone")
    for name in ("fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
                 "pidfd_getfd"):
        if name in nr:
            emit(JEQ, nr[name], jt="deny")
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"):
        emit(JEQ, nr[name], jt="signal")
    emit(RET, allow)                                      # every other system call
    labels = {"clone": len(prog)}                         # jumps go forward only: the returns come last
    emit(LD, 16)
    emit(JSET, _CLONE_THREAD, jt="allow", jf="deny")      # a thread, not a process
    labels["signal"] = len(prog)
    emit(LD, 0)                                           # pidfd_send_signal takes a pidfd: refuse it
    emit(JEQ, nr["pidfd_send_signal"], jt="deny")
    emit(LD, 16)
    emit(JEQ, os.getpid(), jt="allow", jf="deny")         # signals to this process only
    labels["allow"] = len(prog)
    emit(RET, allow)
    labels["deny"] = len(prog)
    emit(RET, eperm)
    labels["nosys"] = len(prog)
    emit(RET, enosys)

    class Insn(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

    insns = (Insn * len(prog))()
    for i, (code, jt, jf, k) in enumerate(prog):
        rel = lambda label: 0 if label is None else labels[label] - i - 1
        insns[i] = Insn(code, rel(jt), rel(jf), k & 0xFFFFFFFF)
    fprog = Prog(len(prog), insns)
    libc = _libc()
    if libc.prctl(38, 1, 0, 0, 0) != 0:                     # PR_SET_NO_NEW_PRIVS
        return False
    return libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0    # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


class Child:
    """The request loop of the sandboxed process."""

    def __init__(self, cfg):
        self.req, self.resp = cfg["fds"]
        self.framework = cfg["policy"] == "framework"
        self.ns = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _NoIPython()}
        self.me = os.path.abspath(__file__)

    def send(self, header, blobs=()):
        write_message(self.resp, header, blobs)

    def serve(self):
        handlers = {"exec": self.exec_cell, "resolve": self.resolve, "call": self.call, "names": self.names}
        while True:
            msg, blobs = read_message(self.req)
            op = msg.get("op")
            if op == "bye":
                return
            handlers[op](msg, blobs)

    # ----------------------------------------------------------------- requests

    def exec_cell(self, msg, blobs):
        cell, skip = msg["cell"], set(msg.get("skip", []))
        try:
            tree = ast.parse(msg["source"], filename=f"<cell {cell}>")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
            self.send({"ev": "end", "n": 0, "error": describe_exception(e, self.me)})
            return
        for i, stmt in enumerate(tree.body):
            if i in skip:
                continue
            self.send({"ev": "start", "i": i, "line": getattr(stmt, "lineno", 0)})
            error = None
            try:
                exec(compile(ast.Module([stmt], type_ignores=[]), f"<cell {cell}>", "exec"), self.ns)
            except BaseException as e:                         # SystemExit and KeyboardInterrupt too
                error = describe_exception(e, self.me)
            _flush()
            self.send({"ev": "done", "i": i, "error": error})
        self.send({"ev": "end", "n": len(tree.body), "error": None})

    def resolve(self, msg, blobs):
        name = msg["name"]
        if name not in self.ns:
            self.send({"ev": "resolved", "kind": "missing"})
        elif callable(self.ns[name]):
            self.send({"ev": "resolved", "kind": "callable", "type": type(self.ns[name]).__name__})
        else:
            enc = Encoder(convert=True)
            try:
                node = enc.value(self.ns[name])
            except WireError as e:
                self.send({"ev": "resolved", "kind": "unsendable", "type": type(self.ns[name]).__name__,
                           "error": str(e)})
                return
            self.send({"ev": "resolved", "kind": "value", "value": node}, enc.blobs)

    def names(self, msg, blobs):
        import numpy as np

        found = []
        for name, obj in list(self.ns.items()):
            if name.startswith("__") or type(obj).__name__ == "module":
                continue
            if callable(obj):
                found.append([name, "callable"])
            elif isinstance(obj, np.ndarray) and obj.dtype.kind in ARRAY_KINDS and obj.size <= msg.get("max_size", 10**5):
                found.append([name, "array"])
        self.send({"ev": "names", "names": found})

    def call(self, msg, blobs):
        import numpy as np

        fn = self.ns.get(msg["name"])
        dec = Decoder(blobs, allow=("scalar", "nd", "tuple", "list", "dict", "fn", "rng", "tensor"),
                      fn=self._callback, tensor=self._tensor)
        args, kwargs = dec.value(msg["args"]), dec.value(msg["kwargs"])
        before = {i: a.copy() for i, a in enumerate(args) if isinstance(a, np.ndarray)}
        try:
            if not callable(fn):
                raise NameError(f"name {msg['name']!r} is not defined (or is not a function)")
            result = fn(*args, **kwargs)
        except BaseException as e:
            _flush()
            self.send({"ev": "raise", **describe_exception(e, self.me)})
            return
        _flush()
        enc = Encoder(convert=True)
        try:
            node = enc.value(result)
            mutated = [[i, enc.value(args[i])] for i, a in before.items()
                       if isinstance(args[i], np.ndarray) and args[i].shape == a.shape
                       and not np.array_equal(args[i], a, equal_nan=True)]
        except WireError as e:
            self.send({"ev": "raise", "type": "UnsendableResult", "not_implemented": False, "traceback": "",
                       "message": f"what your function returned cannot be sent to the grader: {e}"})
            return
        except BaseException as e:
            self.send({"ev": "raise", **describe_exception(e, self.me)})
            return
        self.send({"ev": "return", "value": node, "mutated": mutated}, enc.blobs)

    # ----------------------------------------------------------------- helpers

    def _tensor(self, array):
        if not self.framework:
            return array
        try:
            import tensorflow as tf
        except Exception:
            return array
        return tf.constant(array)

    def _callback(self, index):
        child = self

        def grader_function(*args, **kwargs):
            enc = Encoder(convert=True)
            node = enc.value([list(args), kwargs])
            child.send({"ev": "callback", "id": index, "args": node}, enc.blobs)
            reply, blobs = read_message(child.req)
            if reply.get("op") == "callback_result":
                return Decoder(blobs).value(reply["value"])
            raise RuntimeError(str(reply.get("message", "the grader's function failed")))
        return grader_function


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def main(argv):
    with open(argv[1]) as f:
        cfg = json.load(f)
    _set_pdeathsig()
    os.chdir(cfg["workdir"])
    limits = _set_limits(cfg.get("limits", {}))
    sys.path[:] = cfg["path"]
    log = os.open(cfg["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stdin = open(os.devnull)
    import ctypes  # noqa: F401  (loaded before Landlock: libffi)
    import numpy  # noqa: F401  (its shared libraries, before Landlock closes the file system)

    landlock = _landlock(cfg["landlock"]) if cfg.get("landlock") else 0
    seccomp = _seccomp() if cfg.get("seccomp") else False
    child = Child(cfg)
    child.send({"ev": "ready", "landlock": landlock, "seccomp": seccomp, "limits": limits, "pid": os.getpid()})
    try:
        child.serve()
    except PeerGone:
        pass
    _flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
