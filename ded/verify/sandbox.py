"""Run an untrusted, model-written Python program on one input, with limits, and capture what it prints.

    result = run_python(source, stdin, time_limit_s=2, memory_mb=512)
    result.status   # ok | runtime_error | timeout | memory | output_limit | sandbox_error
    result.stdout   # bytes, at most output_limit_bytes

Each run gets a fresh temporary folder as its working directory and a two-process chain:

    caller --Popen, new session--> launcher (this file run as a script, stdlib only) --fork--> program

The launcher, when it runs as root (as in CI), isolates the program with Linux namespaces through libc `unshare`:
a private network namespace (only a loopback interface that is down: no socket can reach anything, the host's own
loopback included), a PID namespace (the program is its init: when it dies, every process it forked dies with it,
even one that left the process group), and a private mount namespace in which every mount is remounted read-only
except the run's folder (so /tmp, /dev/shm and the repository cannot be written). The program then runs under a
fresh unprivileged uid (UID_BASE + the launcher's pid, so that concurrent runs never share a uid): root ignores
RLIMIT_NPROC, an unprivileged uid does not, which bounds a fork bomb. The program also gets rlimits (CPU time,
address space, file size, processes, open files, no core files), no_new_privs, a parent-death signal, a clean
environment and `python -I -S` (standard library only). The caller enforces a wall-clock limit, kills the whole
process group on timeout, and caps the output it keeps; the launcher enforces the same wall limit on its side.

Without root (a developer's machine), namespaces and the uid switch are skipped: the program runs as the caller
with the rlimits (RLIMIT_NPROC then binds), its own session, and the same kills. `capabilities()` reports what a
run gets; each RunResult carries it as `isolation`.

No package beyond the standard library and util-linux's kernel features is needed (no bubblewrap).
"""

from __future__ import annotations

import marshal  # not json: the launcher starts once per test run, and importing json (and re) took 10 of its ~50 ms
import math
import os
import signal
import sys

UID_BASE = 1_000_000          # sandbox uids: UID_BASE + launcher pid (pid_max <= 4194304 keeps them below 2**32)
SANDBOX_DIR_PLACEHOLDER = "<sandbox>"
SANDBOX_FAILURE = 121         # launcher exit code when it could not start the program (its stderr says why)
PROGRAM_NAME = "solution.py"

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 0x20, 0x400, 0x800, 0x1000, 0x2000, 0x4000
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
# Interpreters for the program: DED_SANDBOX_PYTHON, else the first of these that the unprivileged uid can execute,
# else the workflow's own interpreter, made reachable inside the mount namespace (a pyenv under /root is not).
_PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")


# =====================================================================================================================
# The launcher (runs as a script: `python -I -S sandbox.py SPEC_JSON`; standard library only)
# =====================================================================================================================
def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unescape_mount_path(text: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and len(text[i + 1:i + 4]) == 3 and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _readonly_mounts(libc, writable: str) -> list[str]:
    """In a fresh, private mount namespace: every mount read-only, except `writable` (bind-mounted onto itself)."""
    failed = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
        entries = [line.split() for line in fh]
    for fields in entries:
        point, options = _unescape_mount_path(fields[4]), fields[5].split(",")
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for opt in options:
            flags |= _MOUNT_FLAGS.get(opt, 0)
        if libc.mount(None, point.encode("utf-8", "surrogateescape"), None, flags, None) != 0:
            if point == "/":
                _check(1, "remount / read-only")
            failed.append(point)
    path = writable.encode()
    _check(libc.mount(path, path, None, MS_BIND, None), f"bind {writable}")
    _check(libc.mount(None, path, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, None), f"remount {writable} rw")
    return failed


def _blocking_ancestor(path: str) -> str | None:
    """The first folder on the way to `path` that others cannot search (None: the path is reachable)."""
    parts = path.rstrip("/").split("/")
    for i in range(2, len(parts) + 1):
        folder = "/".join(parts[:i])
        if not os.stat(folder).st_mode & 0o001:
            return folder
    return None


def _expose(libc, prefix: str, stage: str) -> None:
    """Make `prefix` (an interpreter's installation) reachable at the same path by any uid, in this mount namespace:
    a tmpfs covers the folder that blocks the way (hiding the rest of it) and `prefix` is moved back into it."""
    blocking = _blocking_ancestor(prefix)
    if blocking is None:
        return
    os.mkdir(stage, 0o700)
    _check(libc.mount(prefix.encode(), stage.encode(), None, MS_BIND | MS_REC, None), f"bind {prefix}")
    _check(libc.mount(b"tmpfs", blocking.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=755,size=64k"),
           f"tmpfs over {blocking}")
    os.makedirs(prefix, mode=0o755, exist_ok=True)
    _check(libc.mount(stage.encode(), prefix.encode(), None, MS_MOVE, None), f"move {prefix} back")
    os.rmdir(stage)


def _set_limits(spec: dict) -> None:
    import resource

    cpu = max(1, math.ceil(spec["cpu_s"]))
    limits = [
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        (resource.RLIMIT_AS, spec["mem_bytes"], spec["mem_bytes"]),
        (resource.RLIMIT_FSIZE, spec["fsize_bytes"], spec["fsize_bytes"]),
        (resource.RLIMIT_NPROC, spec["nproc"], spec["nproc"]),
        (resource.RLIMIT_NOFILE, spec["nofile"], spec["nofile"]),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    for which, soft, hard in limits:
        _, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, cur_hard), min(hard, cur_hard)
        resource.setrlimit(which, (soft, hard))


def _child(spec: dict, uid: int | None, lifeline_r: int, libc) -> None:
    """The forked child: limits and identity, then fork the program and reap until it ends.

    When isolated, this process is the PID namespace's init. It must not be the program itself: the kernel drops
    signals that init does not handle, RLIMIT_CPU's SIGXCPU included. When it exits, the kernel kills every
    process left in the namespace (orphans of a fork bomb, daemons), so nothing outlives the run.
    """
    import select  # before the uid change: the launcher's own interpreter may not be readable by that uid

    os.chdir(spec["dir"])
    os.umask(0o077)
    _set_limits(spec)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    if libc is not None:
        # after the uid change: changing credentials clears the parent-death signal
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        if select.select([lifeline_r], [], [], 0)[0]:   # EOF: the launcher died before the signal was armed
            os._exit(SANDBOX_FAILURE)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": spec["dir"], "TMPDIR": spec["dir"], "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"}
    python = spec["python"]
    program = os.fork()
    if program == 0:
        try:
            os.execve(python, [python, "-I", "-S", "-B", PROGRAM_NAME, *spec.get("argv", [])], env)
        except BaseException as exc:  # noqa: BLE001
            os.write(2, f"sandbox: could not start the program: {exc!r}\n".encode())
        os._exit(SANDBOX_FAILURE)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(SANDBOX_FAILURE)
        if pid == program:
            os.write(spec["result_fd"], str(status).encode())
            os._exit(0)


def _launch(spec: dict) -> None:
    status_fd = spec["status_fd"]
    os.set_inheritable(status_fd, False)
    isolation = {"namespaces": False, "readonly_fs": False, "uid": False}
    libc, uid = None, None
    try:
        libc = _libc()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)   # the caller died: so does the launcher
    except OSError:
        libc = None
    if os.geteuid() == 0 and libc is not None:
        try:
            _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
            isolation["namespaces"] = True
            # first of all: nothing mounted from here on may propagate back to the host's mount namespace
            _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
            if spec.get("expose"):
                _expose(libc, spec["expose"], os.path.join(spec["dir"], ".stage"))
            failed = _readonly_mounts(libc, spec["dir"])
            isolation["readonly_fs"] = True
            if failed:
                isolation["rw_mounts"] = failed
        except OSError as exc:
            isolation["error"] = str(exc)
        uid = UID_BASE + os.getpid()
        os.chown(spec["dir"], uid, uid)
        isolation["uid"] = True
    lifeline_r, lifeline_w = os.pipe()
    result_r, result_w = os.pipe()
    spec["result_fd"] = result_w
    pid = os.fork()
    if pid == 0:
        try:
            os.close(lifeline_w)
            os.close(result_r)
            _child(spec, uid, lifeline_r, libc)
        except BaseException as exc:  # noqa: BLE001 (report anything, then leave without running cleanup code)
            os.write(2, f"sandbox: could not start the program: {exc!r}\n".encode())
        os._exit(SANDBOX_FAILURE)
    os.close(lifeline_r)
    os.close(result_w)

    wall_hit = []

    def on_alarm(signum, frame):
        wall_hit.append(True)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, spec["wall_s"])
    _, reaper_status, usage = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    raw = os.read(result_r, 64)
    status = int(raw) if raw else reaper_status
    report = {
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
        "wall_timeout": bool(wall_hit),
        "uid": uid,
        "isolation": isolation,
    }
    os.write(status_fd, marshal.dumps(report))
    os._exit(0)


if __name__ == "__main__":
    _launch(marshal.loads(bytes.fromhex(sys.argv[1])))   # the caller's interpreter wrote it: same marshal format


# =====================================================================================================================
# The caller's side (imported as ded.verify.sandbox)
# =====================================================================================================================
from collections.abc import Sequence  # noqa: E402 (the launcher above must not pay for more imports)
from dataclasses import dataclass, field  # noqa: E402

STATUSES = ("ok", "runtime_error", "timeout", "memory", "output_limit", "sandbox_error")


@dataclass
class RunResult:
    status: str                 # one of STATUSES
    stdout: bytes = b""
    stderr: bytes = b""         # the last stderr_limit_bytes
    exit_code: int | None = None
    signal: int | None = None
    cpu_s: float | None = None
    wall_s: float = 0.0
    uid: int | None = None     # the unprivileged uid the program ran as (None: it ran as the caller)
    launcher_pid: int | None = None
    isolation: dict = field(default_factory=dict)
    message: str = ""
    files: dict = field(default_factory=dict)   # name -> bytes, the `collect` files the program left

    def stderr_tail(self, n: int = 300) -> str:
        return self.stderr[-n:].decode("utf-8", errors="replace")


def _world_executable(path: str) -> bool:
    """Can an unprivileged uid execute `path` (every folder on the way searchable, the file executable)?"""
    import stat

    real = os.path.realpath(path)
    if not os.path.isfile(real):
        return False
    parts = real.split(os.sep)
    for i in range(1, len(parts)):
        folder = os.sep.join(parts[:i]) or os.sep
        if not os.stat(folder).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(real).st_mode & stat.S_IXOTH and os.stat(real).st_mode & stat.S_IROTH)


def program_python(unprivileged: bool) -> tuple[str, str | None]:
    """(interpreter, prefix to expose) for the program. Running as the caller, the caller's interpreter; running as
    an unprivileged uid, one it can execute, or the caller's base interpreter with its prefix to expose."""
    override = os.environ.get("DED_SANDBOX_PYTHON")
    base = os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)
    if not unprivileged:
        return (override or sys.executable), None
    if override:
        real = os.path.realpath(override)
        return real, (None if _world_executable(real) else _prefix_of(real))
    for candidate in _PYTHON_CANDIDATES:
        if _world_executable(candidate):
            return os.path.realpath(candidate), None
    return base, (None if _world_executable(base) else _prefix_of(base))


def _prefix_of(executable: str) -> str:
    """The installation folder of an interpreter (…/bin/python3.11 -> …)."""
    return os.path.dirname(os.path.dirname(executable))


def capabilities() -> dict:
    """What isolation a run gets on this machine (runs a trivial program once)."""
    res = run_python("print('ok')", b"", time_limit_s=2, memory_mb=256)
    return {"status": res.status, "uid": res.uid is not None, **res.isolation, "message": res.message}


def default_wall_s(time_limit_s: float) -> float:
    return 2 * time_limit_s + 5


def run_python(source: str, stdin: str | bytes = b"", *, time_limit_s: float, memory_mb: int,
               wall_limit_s: float | None = None, output_limit_bytes: int = 16 << 20,
               stderr_limit_bytes: int = 64 << 10, file_limit_mb: int = 16, nproc: int = 64, nofile: int = 128,
               argv: Sequence[str] = (), files: dict | None = None, collect: Sequence[str] = (),
               workdir_parent: str | None = None) -> RunResult:
    """Run `source` as a Python 3 program with `stdin` as its standard input; never raises for the program's faults.

    argv: its command-line arguments; files: {name: str | bytes} put in its folder first; collect: names of files
    it may write there, returned in RunResult.files (regular files only, never through a link, at most
    output_limit_bytes each).
    time_limit_s: CPU seconds (RLIMIT_CPU, and the measured CPU time of the program and its children);
    wall_limit_s: real seconds (default 2 * time_limit_s + 5: generous, since CPU time is the limit that counts and a
    loaded machine stretches wall time; the wall limit only stops programs that sleep or block);
    memory_mb: address-space limit;
    output_limit_bytes: stdout beyond this kills the program (status output_limit).
    """
    import selectors
    import shutil
    import subprocess
    import tempfile
    import time

    if isinstance(stdin, str):
        stdin = stdin.encode("utf-8", errors="replace")
    wall = wall_limit_s if wall_limit_s is not None else default_wall_s(time_limit_s)
    root = os.geteuid() == 0
    python, expose = program_python(unprivileged=root)
    workdir = tempfile.mkdtemp(prefix="ded-sbx-", dir=workdir_parent)
    started = time.monotonic()
    proc = None
    try:
        os.chmod(workdir, 0o700)
        program = os.path.join(workdir, PROGRAM_NAME)
        with open(program, "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(source)
        os.chmod(program, 0o644)
        for name, content in (files or {}).items():
            path = _plain_name(workdir, name)
            with open(path, "wb") as fh:
                fh.write(content.encode("utf-8", errors="replace") if isinstance(content, str) else content)
            os.chmod(path, 0o644)
        spec = {"argv": [str(a) for a in argv], "dir": workdir, "python": python, "expose": expose,
                "cpu_s": time_limit_s, "wall_s": wall + 0.5,
                "mem_bytes": int(memory_mb) << 20, "fsize_bytes": int(file_limit_mb) << 20, "nproc": nproc,
                "nofile": nofile}
        status_r, status_w = os.pipe()
        spec["status_fd"] = status_w
        with tempfile.TemporaryFile() as infile:
            infile.write(stdin)
            infile.seek(0)
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), marshal.dumps(spec).hex()],
                    stdin=infile, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(status_w,),
                    start_new_session=True, cwd=workdir, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            finally:
                os.close(status_w)
        out, err, status = _collect(proc, status_r, started + wall, output_limit_bytes, stderr_limit_bytes,
                                    selectors, time)
        # The folder's name is random: keep it out of tracebacks, so verdicts are the same on every rerun.
        err = err.replace(workdir.encode(), SANDBOX_DIR_PLACEHOLDER.encode())
        wall_s = time.monotonic() - started
        res = _decide(status, out, err, time_limit_s, wall_s, output_limit_bytes)
        res.launcher_pid = proc.pid
        if res.uid is None and root:
            res.uid = UID_BASE + proc.pid
        for name in collect:
            content = _read_regular(_plain_name(workdir, name), output_limit_bytes)
            if content is not None:
                res.files[name] = content
        return res
    finally:
        if proc is not None and proc.poll() is None:
            _kill_group(proc.pid)
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _plain_name(folder: str, name: str) -> str:
    if not name or "/" in name or name in (".", "..") or name == PROGRAM_NAME:
        raise ValueError(f"sandbox file name {name!r}: expected a plain file name other than {PROGRAM_NAME}")
    return os.path.join(folder, name)


def _read_regular(path: str, cap: int) -> bytes | None:
    """A file the program wrote, read without following a link it may have planted (we read as root)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, size = [], 0
        while size < cap:
            chunk = os.read(fd, min(1 << 16, cap - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _collect(proc, status_r, deadline, out_cap, err_cap, selectors, time):
    """Read stdout (capped), stderr (tail) and the launcher's report until exit or deadline; returns a status dict."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    sel.register(status_r, selectors.EVENT_READ, "status")
    out, err, report = bytearray(), bytearray(), bytearray()
    verdict = {}
    open_streams = 3
    try:
        while open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                verdict["wall_timeout"] = True
                break
            for key, _ in sel.select(timeout=remaining):
                fd = key.fileobj if isinstance(key.fileobj, int) else key.fileobj.fileno()
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if key.data == "out":
                    out += chunk
                    if len(out) > out_cap:
                        verdict["output_limit"] = True
                        open_streams = 0
                        break
                elif key.data == "err":
                    err += chunk
                    if len(err) > 2 * err_cap:
                        del err[:-err_cap]
                else:
                    report += chunk
    finally:
        sel.close()
        os.close(status_r)
    if verdict:
        _kill_group(proc.pid)
    else:
        # the launcher exits once the program (and, when isolated, its whole PID namespace) is gone; anything left
        # in its process group (not isolated) is killed before the launcher is reaped, so the group id is still ours
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            pass
        _kill_group(proc.pid)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    try:
        verdict["report"] = marshal.loads(bytes(report)) if report else None
    except (ValueError, EOFError, TypeError):   # a launcher killed mid-write leaves a truncated report
        verdict["report"] = None
    verdict["launcher_rc"] = proc.returncode
    return bytes(out[:out_cap]), bytes(err[-err_cap:]), verdict


def _decide(status: dict, out: bytes, err: bytes, time_limit_s: float, wall_s: float, out_cap: int) -> RunResult:
    report = status.get("report") or {}
    res = RunResult("ok", stdout=out, stderr=err, exit_code=report.get("exit_code"), signal=report.get("signal"),
                    cpu_s=report.get("cpu_s"), wall_s=wall_s, uid=report.get("uid"),
                    isolation=report.get("isolation") or {})
    if status.get("output_limit"):
        res.status, res.message = "output_limit", f"more than {out_cap} bytes on stdout"
    elif status.get("wall_timeout") or report.get("wall_timeout"):
        res.status, res.message = "timeout", f"wall-clock limit ({wall_s:.1f} s)"
    elif not report:
        res.status, res.message = "sandbox_error", f"launcher exited with {status.get('launcher_rc')} and no report"
    elif report.get("exit_code") == SANDBOX_FAILURE and b"sandbox: could not start" in err:
        res.status, res.message = "sandbox_error", res.stderr_tail()
    elif (res.cpu_s or 0) > time_limit_s or res.signal == signal.SIGXCPU:
        res.status, res.message = "timeout", f"CPU time limit {time_limit_s} s (used {res.cpu_s or 0:.2f} s)"
    elif b"MemoryError" in err:
        res.status, res.message = "memory", "MemoryError"
    elif res.exit_code != 0:
        what = f"signal {res.signal}" if res.signal is not None else f"exit code {res.exit_code}"
        res.status, res.message = "runtime_error", what
    return res
