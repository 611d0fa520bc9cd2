"""Run untrusted, model-written Python programs with limits, and capture what they print.

    result = run_python(source, stdin, time_limit_s=2, memory_mb=512)       # one run
    with Sandbox(source) as box:                                           # many runs of one program (its tests)
        for test in tests:
            result = box.run(test["input"], time_limit_s=2, memory_mb=512)
    result.status   # ok | runtime_error | timeout | memory | output_limit | sandbox_error
    result.stdout   # bytes, at most output_limit_bytes

A Sandbox is one launcher (this file run as a script, standard library only) and a reaper under it; every run is a
fresh program process forked by the reaper:

    caller --Popen, new session--> launcher --fork--> reaper --fork + exec, one per run--> program (python -I -S)
           control pipe: run specs -->          <-- report pipe: one report per run

Isolation is set up once per Sandbox (starting an interpreter and building namespaces cost ~50 ms; a run costs about
what a bare subprocess of the program does). The launcher, when it runs as root (as in CI), isolates with Linux
namespaces through libc `unshare`: a private network namespace (only a loopback interface that is down: no socket can
reach anything, the host's own loopback included), a PID namespace whose init is the reaper, a private IPC namespace,
and a private mount namespace in which every mount is remounted read-only except the Sandbox's folder (so /tmp,
/dev/shm and the repository cannot be written). Programs run under a fresh unprivileged uid (UID_BASE + the
launcher's pid, so that concurrent Sandboxes never share a uid): root ignores RLIMIT_NPROC, an unprivileged uid does
not, which bounds a fork bomb. The reaper stays root, so a program cannot touch it or forge its reports.

Each run gets its own folder (`run-<n>`, removed afterwards) as working directory, rlimits (CPU time, address
space, file size, processes, open files, no core files), no_new_privs, a parent-death signal, no inherited file
descriptors beyond stdin/stdout/stderr, a clean environment and `python -I -S` (standard library only). Its stdin is
a file, its stdout and stderr are files that RLIMIT_FSIZE caps, read by the caller afterwards. When a run ends, the
reaper kills every process left in the PID namespace (kill(-1) from its init: orphans of a fork bomb, daemons,
processes that left the process group) and removes SysV IPC objects, so nothing of one run reaches the next. The
reaper enforces the wall-clock limit of a run; the caller enforces its own deadline on top and kills the whole
session if the reaper does not answer.

Without root (a developer's machine), namespaces and the uid switch are skipped: programs run as the caller with the
rlimits (RLIMIT_NPROC then binds), their own process group (killed after each run), and the same limits.
`capabilities()` reports what a run gets; each RunResult carries it as `isolation`.

Interactive runs (`Sandbox.start`): the program's stdin and stdout are pipes to the caller instead of files, for a
harness that answers test after test in one process (LiveCodeBench's own grading, ded.verify.lcb_harness).

No package beyond the standard library and util-linux's kernel features is needed (no bubblewrap).
"""

from __future__ import annotations

import marshal  # not json: the launcher is started once per Sandbox, and json (with re) costs ~10 ms to import
import math
import os
import signal
import sys

UID_BASE = 1_000_000          # sandbox uids: UID_BASE + launcher pid (pid_max <= 4194304 keeps them below 2**32)
SANDBOX_DIR_PLACEHOLDER = "<sandbox>"
SANDBOX_FAILURE = 121         # exit code of a program process that could not be started (its stderr says why)
PROGRAM_NAME = "solution.py"
RUN_PREFIX = "run-"

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC = 0x20, 0x400, 0x800, 0x1000, 0x2000, 0x4000
MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 18, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
IPC_RMID = 0
_MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}
# Interpreters for the program: DED_SANDBOX_PYTHON, else the first of these that the unprivileged uid can execute,
# else the workflow's own interpreter, made reachable inside the mount namespace (a pyenv under /root is not).
_PYTHON_CANDIDATES = ("/usr/bin/python3", "/usr/local/bin/python3", "/bin/python3")
_FRAME_HEADER = 4             # bytes of the big-endian length in front of every control and report message
# Programs run as `python -I -S -B -c BOOTSTRAP solution.py ARGS`. -S keeps site-packages out (standard library only),
# and with them the exit() and quit() that `site` defines and that judges' interpreters have (competitive programs
# call exit() often): the bootstrap defines them as site does (close stdin, raise SystemExit) and runs solution.py as
# the __main__ module, as `python solution.py` would (its code object is compiled from the file, __file__ absolute).
BOOTSTRAP = """\
def _run():
    import builtins, posix, sys

    class Quitter:
        def __init__(self, name):
            self.name = name

        def __repr__(self):
            return f"Use {self.name}() or Ctrl-D (i.e. EOF) to exit"

        def __call__(self, code=None):
            try:
                sys.stdin.close()
            except Exception:
                pass
            raise SystemExit(code)

    builtins.exit, builtins.quit = Quitter("exit"), Quitter("quit")
    sys.argv = sys.argv[1:]
    path = posix.getcwd() + "/" + sys.argv[0]   # posix, not os: os is not loaded yet under -S (2 ms to import)
    with open(path, "rb") as fh:
        code = compile(fh.read(), path, "exec")
    namespace = sys.modules["__main__"].__dict__
    namespace.clear()
    namespace.update(__name__="__main__", __file__=path, __builtins__=builtins, __doc__=None, __loader__=None,
                     __spec__=None, __package__=None)
    exec(code, namespace)
_run()
"""


# =====================================================================================================================
# The launcher and the reaper (run as a script: `python -I -S sandbox.py SPEC_HEX`; standard library only)
# =====================================================================================================================
def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _send_frame(fd: int, obj) -> None:
    data = marshal.dumps(obj)
    data = len(data).to_bytes(_FRAME_HEADER, "big") + data
    while data:
        data = data[os.write(fd, data):]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, size = [], 0
    while size < n:
        chunk = os.read(fd, n - size)
        if not chunk:
            return None
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _recv_frame(fd: int):
    """The next message, or None at end of file."""
    head = _read_exact(fd, _FRAME_HEADER)
    if head is None:
        return None
    body = _read_exact(fd, int.from_bytes(head, "big"))
    return None if body is None else marshal.loads(body)


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


# Limits: the reaper lowers its own soft limits around posix_spawn, so that the program starts under them from its
# first instruction; right after the spawn it lowers the program's hard limits to match (the reaper may not raise hard
# limits back on itself: containers drop CAP_SYS_RESOURCE), and sets the CPU limit (the reaper's own CPU time would
# count against it) and an address-space limit too small for the reaper itself to spawn under.
_INHERITED = ("RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_CORE")
_MIN_INHERITED_AS = 64 << 20


def _limits(resource, run: dict) -> dict:
    cpu = max(1, math.ceil(run["cpu_s"]))
    return {resource.RLIMIT_CPU: (cpu, cpu + 1), resource.RLIMIT_AS: (run["mem_bytes"], run["mem_bytes"]),
            resource.RLIMIT_FSIZE: (run["fsize_bytes"], run["fsize_bytes"]),
            resource.RLIMIT_NPROC: (run["nproc"], run["nproc"]), resource.RLIMIT_NOFILE: (run["nofile"], run["nofile"]),
            resource.RLIMIT_CORE: (0, 0)}


def _clamped(wanted: tuple[int, int], hard: int, infinity: int) -> tuple[int, int]:
    if hard == infinity:
        return wanted
    return min(wanted[0], hard), min(wanted[1], hard)


def _lock_limits(resource, pid: int, limits: dict, hard: dict) -> None:
    """Set the program's soft and hard limits. Its ids equal the reaper's real ones from the spawn on (see _reap),
    which is what lets the reaper, without CAP_SYS_RESOURCE, set them; on EPERM (ids not yet committed by the child's
    exec) yield and retry."""
    import time

    give_up = time.monotonic() + 5.0
    for which, wanted in limits.items():
        while True:
            try:
                resource.prlimit(pid, which, _clamped(wanted, hard[which], resource.RLIM_INFINITY))
                break
            except PermissionError:
                if time.monotonic() > give_up:
                    raise
                os.sched_yield()


def _spawn(spec: dict, run: dict, unprivileged: bool, resource) -> int:
    """Start the program (posix_spawn: a vfork, no Python code in the child) with its stdio, folder and limits."""
    fds = []
    try:
        if run["stdio"] == "pipe":
            stdin, stdout = spec["data_fds"]
        else:
            stdin = os.open(run["stdin"], os.O_RDONLY)
            stdout = os.open(run["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            fds += [stdin, stdout]
        stderr = os.open(run["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        fds.append(stderr)
        limits = _limits(resource, run)
        inherited = [getattr(resource, name) for name in _INHERITED]
        if run["mem_bytes"] >= _MIN_INHERITED_AS:
            inherited.append(resource.RLIMIT_AS)
        saved = {which: resource.getrlimit(which) for which in inherited}
        hard = {which: resource.getrlimit(which)[1] for which in limits}   # the program inherits these
        os.chdir(run["cwd"])
        try:
            for which in inherited:
                soft, _ = _clamped(limits[which], saved[which][1], resource.RLIM_INFINITY)
                resource.setrlimit(which, (soft, saved[which][1]))
            env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": run["cwd"], "TMPDIR": run["cwd"],
                   "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"}
            python = spec["python"]
            # resetids: effective ids := real ids, the sandbox uid (see _reap); the reaper's own fds are close-on-exec
            pid = os.posix_spawn(python, [python, "-I", "-S", "-B", "-c", BOOTSTRAP, PROGRAM_NAME, *run["argv"]], env,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
                                               (os.POSIX_SPAWN_DUP2, stderr, 2)],
                                 setpgroup=0, resetids=unprivileged,
                                 setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGALRM))
        finally:
            for which, value in saved.items():
                resource.setrlimit(which, value)
            os.chdir(spec["dir"])
        try:
            _lock_limits(resource, pid, limits, hard)
        except OSError:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        return pid
    finally:
        for fd in fds:
            os.close(fd)


def _remove_ipc(libc) -> None:
    """Delete every SysV shared-memory segment, message queue and semaphore set of this IPC namespace."""
    for kind, call in (("shm", lambda i: libc.shmctl(i, IPC_RMID, None)),
                       ("msg", lambda i: libc.msgctl(i, IPC_RMID, None)),
                       ("sem", lambda i: libc.semctl(i, 0, IPC_RMID))):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            call(int(row.split()[1]))


def _end_run(pid: int, init: bool, ipc: bool, libc) -> None:
    """Kill what the run left behind and reap it."""
    if init:
        # init of the PID namespace: kill(-1) reaches every other process in it and nothing outside
        while True:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                while True:
                    os.waitpid(-1, 0)
            except ChildProcessError:
                break
        if ipc and libc is not None:
            _remove_ipc(libc)
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _wait_program(pid: int, n: int, deadline: float, control: int, queue: list, time) -> tuple[bool, bool, bool]:
    """Wait for run n's program to end, its wall deadline, or a message on the control pipe (run specs and cancels of
    other runs are queued; a cancel of this run, or the pipe's end, kills it). Returns (wall limit hit, cancelled,
    control closed)."""
    import select

    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready = select.select([pidfd, control], [], [], max(0.0, deadline - time.monotonic()))[0]
            if pidfd in ready:
                return False, False, False
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return True, False, False
            message = _recv_frame(control)
            if message is None:
                os.kill(pid, signal.SIGKILL)
                return False, False, True
            if message.get("cancel") == n:
                os.kill(pid, signal.SIGKILL)
                return False, True, False
            queue.append(message)
    finally:
        os.close(pidfd)


def _reap(spec: dict, uid: int | None, isolation: dict, libc, launcher_pid: int) -> None:
    """The reaper (init of the PID namespace when isolated): one program process per run spec, one report each, in
    the order of the specs; {"cancel": n} stops run n (running or queued).

    With a sandbox uid, the reaper's real and saved ids become that uid while its effective ids stay root: a spawn
    with resetids then gives the program that uid alone, from before its exec, and the reaper keeps root's powers
    (and may set the limits of its programs, whose ids match its real ones). Inside its PID namespace, init ignores
    every signal it has no handler for, so no program can kill it.
    """
    import resource
    import time

    if libc is not None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() not in (launcher_pid, 0):   # 0: the namespace's init, whose parent is outside it
            os._exit(SANDBOX_FAILURE)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)   # inherited by every program: no setuid binary gains rights
    init = os.getpid() == 1            # never kill(-1) outside a PID namespace of our own
    if not init and libc is not None:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    for fd in (spec["control_fd"], spec["report_fd"], *(spec.get("data_fds") or ())):
        os.set_inheritable(fd, False)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, 0, uid)
        os.setresuid(uid, 0, uid)
    os.umask(0o077)
    # Python handles SIGINT, which makes init receive it from the program (its real uid is the program's): ignore
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control, reports = spec["control_fd"], spec["report_fd"]
    _send_frame(reports, {"ready": True, "uid": uid, "isolation": isolation})
    queue: list[dict] = []
    cancelled: set[int] = set()
    closed = False
    while not closed:
        if not queue:
            message = _recv_frame(control)
            if message is None:
                break
            if "cancel" in message:
                cancelled.add(message["cancel"])
            else:
                queue.append(message)
            continue
        run = queue.pop(0)
        if run["n"] in cancelled:
            _send_frame(reports, {"n": run["n"], "cancelled": True})
            continue
        started = time.monotonic()
        try:
            pid = _spawn(spec, run, uid is not None, resource)
        except OSError as exc:
            _send_frame(reports, {"n": run["n"], "spawn_error": f"sandbox: could not start the program: {exc!r}"})
            continue
        if not init:    # the caller kills this group if the reaper dies before reporting
            _send_frame(reports, {"started": pid})
        wall_hit, stopped, closed = _wait_program(pid, run["n"], started + run["wall_s"], control, queue, time)
        _, status, usage = os.wait4(pid, 0)
        wall = time.monotonic() - started
        _end_run(pid, init, isolation.get("namespaces", False), libc)
        # cancels that arrived with the queued specs
        for message in [m for m in queue if "cancel" in m]:
            cancelled.add(message["cancel"])
            queue.remove(message)
        _send_frame(reports, {
            "n": run["n"], "cancelled": stopped,
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu_s": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
            "wall_timeout": wall_hit, "wall_s": wall})
    os._exit(0)


def _isolate(spec: dict, libc) -> dict:
    """Namespaces and mounts (as root); what was achieved."""
    isolation = {"namespaces": False, "readonly_fs": False, "uid": False}
    if os.geteuid() != 0 or libc is None:
        return isolation
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
    return isolation


def _launch(spec: dict) -> None:
    try:
        libc = _libc()
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)   # the caller died: so does the launcher
    except OSError:
        libc = None
    isolation = _isolate(spec, libc)
    uid = None
    if os.geteuid() == 0 and libc is not None:
        uid = UID_BASE + os.getpid()
        isolation["uid"] = True
    me = os.getpid()
    reaper = os.fork()       # after unshare(CLONE_NEWPID): the first child is the namespace's init
    if reaper == 0:
        try:
            _reap(spec, uid, isolation, libc, me)
        except BaseException as exc:  # noqa: BLE001
            os.write(2, f"sandbox: reaper failed: {exc!r}\n".encode())
        os._exit(SANDBOX_FAILURE)
    for fd in (spec["control_fd"], spec["report_fd"], *(spec.get("data_fds") or ())):
        os.close(fd)
    _, status = os.waitpid(reaper, 0)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else SANDBOX_FAILURE)


if __name__ == "__main__":
    _launch(marshal.loads(bytes.fromhex(sys.argv[1])))   # the caller's interpreter wrote it: same marshal format


# =====================================================================================================================
# The caller's side (imported as ded.verify.sandbox)
# =====================================================================================================================
from collections.abc import Sequence  # noqa: E402 (the launcher above must not pay for more imports)
from dataclasses import dataclass, field  # noqa: E402

STATUSES = ("ok", "runtime_error", "timeout", "memory", "output_limit", "sandbox_error")
READY_TIMEOUT_S = 120.0       # starting the launcher on a loaded machine
REPORT_SLACK_S = 10.0         # the caller's deadline beyond a run's own wall limit


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


def default_workdir_parent() -> str | None:
    """Where Sandbox folders go: $DED_SANDBOX_TMP, else /dev/shm when writable (a tmpfs: the folder, files and
    outputs of every run are made and removed per test, several times faster than on a journaling disk), else the
    system's temporary folder."""
    chosen = os.environ.get("DED_SANDBOX_TMP")
    if chosen:
        return chosen
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


class SandboxBroken(RuntimeError):
    """The launcher or reaper is gone or did not answer in time: no further run is possible."""


def _wait_readable(fd: int, deadline: float) -> bool:
    import select
    import time

    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if select.select([fd], [], [], remaining)[0]:
            return True


def _read_frame_before(fd: int, deadline: float, limit: int = 1 << 30) -> bytes | None:
    """One length-prefixed frame's payload, or None on end of file; raises TimeoutError past the deadline."""
    def exact(n: int) -> bytes | None:
        chunks, size = [], 0
        while size < n:
            if not _wait_readable(fd, deadline):
                raise TimeoutError
            chunk = os.read(fd, min(n - size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)

    head = exact(_FRAME_HEADER)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > limit:
        raise ValueError(f"frame of {size} bytes exceeds {limit}")
    return exact(size)


def _write_all_before(fd: int, data: bytes, deadline: float) -> None:
    import select
    import time

    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if select.select([], [fd], [], remaining)[1]:
            view = view[os.write(fd, view[:1 << 20]):]


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(_FRAME_HEADER, "big") + payload


def _read_regular(path: str, cap: int, tail: bool = False) -> bytes | None:
    """A file the program wrote (at most `cap` bytes: its start, or its end when tail), read without following a link
    it may have planted (we read as root)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if tail and info.st_size > cap:
            os.lseek(fd, info.st_size - cap, os.SEEK_SET)
        chunks, size = [], 0
        while size < cap:
            chunk = os.read(fd, min(1 << 20, cap - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _file_size(path: str) -> int:
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return 0


def _plain_name(folder: str, name: str) -> str:
    if not name or "/" in name or name in (".", "..") or name == PROGRAM_NAME:
        raise ValueError(f"sandbox file name {name!r}: expected a plain file name other than {PROGRAM_NAME}")
    return os.path.join(folder, name)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Sandbox:
    """One launcher for many runs of the same program (see the module docstring). Not thread-safe."""

    def __init__(self, source: str = "", *, interactive: bool = False, workdir_parent: str | None = None):
        import subprocess
        import tempfile
        import time

        self.dir = tempfile.mkdtemp(prefix="ded-sbx-", dir=workdir_parent or default_workdir_parent())
        self.io = os.path.join(self.dir, ".io")
        self.proc = None
        self.broken: str | None = None
        self.runs = 0
        self._fds: list[int] = []
        self._groups: set[int] = set()
        self._queue: list[PendingRun] = []
        self._last_report_at = 0.0
        try:
            os.chmod(self.dir, 0o711)          # programs pass through to their run folder, see nothing else here
            os.mkdir(self.io, 0o700)
            self.source_path = os.path.join(self.io, PROGRAM_NAME)
            with open(self.source_path, "w", encoding="utf-8", errors="surrogatepass") as fh:
                fh.write(source)
            os.chmod(self.source_path, 0o644)
            root = os.geteuid() == 0
            python, expose = program_python(unprivileged=root)
            control_r, self.control = os.pipe()
            self.reports, report_w = os.pipe()
            child_fds = [control_r, report_w]
            spec = {"dir": self.dir, "python": python, "expose": expose, "control_fd": control_r,
                    "report_fd": report_w, "data_fds": None}
            self.data_in = self.data_out = None
            if interactive:
                data_in_r, self.data_in = os.pipe()
                self.data_out, data_out_w = os.pipe()
                spec["data_fds"] = (data_in_r, data_out_w)
                child_fds += [data_in_r, data_out_w]
            self._fds = [self.control, self.reports] + ([self.data_in, self.data_out] if interactive else [])
            self._launcher_err = os.path.join(self.io, "launcher.err")
            try:
                with open(self._launcher_err, "wb") as err:
                    self.proc = subprocess.Popen(
                        [sys.executable, "-I", "-S", "-B", os.path.abspath(__file__), marshal.dumps(spec).hex()],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, pass_fds=child_fds,
                        start_new_session=True, cwd=self.dir, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            finally:
                for fd in child_fds:
                    os.close(fd)
            try:
                ready = _read_frame_before(self.reports, time.monotonic() + READY_TIMEOUT_S)
            except TimeoutError:
                ready = None
            if ready is None:
                raise SandboxBroken(f"sandbox launcher did not start: {self._launcher_tail()}")
            ready = marshal.loads(ready)
            self.uid, self.isolation = ready["uid"], ready["isolation"]
        except BaseException:
            self.close()
            raise

    # -- lifecycle ------------------------------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        import shutil

        for fd in self._fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = []
        if self.proc is not None and self._queue:   # runs nobody will collect: stop them now
            self._break("closed with runs in flight")
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)     # the reaper sees the control pipe close, ends, and the launcher exits
            except Exception:  # noqa: BLE001 (subprocess.TimeoutExpired, or an interrupt: kill it all)
                pass
            _kill_group(self.proc.pid)
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def _launcher_tail(self) -> str:
        data = _read_regular(self._launcher_err, 2000, tail=True) or b""
        return data.decode("utf-8", errors="replace").strip() or "(no message)"

    def _break(self, why: str) -> None:
        self.broken = why
        if self.proc is not None:
            _kill_group(self.proc.pid)
        for group in self._groups:
            _kill_group(group)

    # -- runs -----------------------------------------------------------------------------------------------------
    def _prepare(self, files: dict | None, source: str | None = None) -> tuple[int, str]:
        n = self.runs
        self.runs += 1
        cwd = os.path.join(self.dir, f"{RUN_PREFIX}{n}")
        os.mkdir(cwd, 0o700)
        program = os.path.join(cwd, PROGRAM_NAME)
        if source is not None:
            with open(program, "w", encoding="utf-8", errors="surrogatepass") as fh:
                fh.write(source)
            os.chmod(program, 0o644)
        else:
            try:
                os.link(self.source_path, program)
            except OSError:
                import shutil

                shutil.copyfile(self.source_path, program)
        for name, content in (files or {}).items():
            path = _plain_name(cwd, name)
            with open(path, "wb") as fh:
                fh.write(content.encode("utf-8", errors="replace") if isinstance(content, str) else content)
            os.chmod(path, 0o644)
        if self.uid is not None:
            os.chown(cwd, self.uid, self.uid)
        return n, cwd

    def _spec(self, n: int, cwd: str, *, stdio: str, time_limit_s: float, memory_mb: int, wall_s: float,
              fsize_bytes: int, nproc: int, nofile: int, argv: Sequence[str]) -> dict:
        return {"n": n, "cwd": cwd, "stdio": stdio, "stdin": os.path.join(self.io, f"in-{n}"),
                "stdout": os.path.join(self.io, f"out-{n}"), "stderr": os.path.join(self.io, f"err-{n}"),
                "argv": [str(a) for a in argv], "cpu_s": time_limit_s, "wall_s": wall_s + 0.5,
                "mem_bytes": int(memory_mb) << 20, "fsize_bytes": int(fsize_bytes), "nproc": nproc, "nofile": nofile}

    def _send_run(self, spec: dict, deadline: float) -> None:
        payload = frame(marshal.dumps(spec))
        try:
            _write_all_before(self.control, payload, deadline)
        except (OSError, TimeoutError) as exc:
            self._break(f"sandbox control pipe failed: {exc!r}")

    def _await_report(self, deadline: float) -> dict | None:
        if self.broken:
            return None
        try:
            raw = _read_frame_before(self.reports, deadline)
        except TimeoutError:
            self._break("the sandbox did not report within its deadline")
            return None
        except (OSError, ValueError) as exc:
            self._break(f"sandbox report failed: {exc!r}")
            return None
        if raw is None:
            self._break(f"the sandbox ended: {self._launcher_tail()}")
            return None
        report = marshal.loads(raw)
        if "started" in report:         # not isolated: the program's process group, to kill if the reaper dies
            self._groups.add(report["started"])
            report = self._await_report(deadline)
            self._groups.clear()
        return report

    def _finish(self, n: int, cwd: str, spec: dict, report: dict | None, *, started: float, time_limit_s: float,
                output_limit_bytes: int, stderr_limit_bytes: int, collect: Sequence[str]) -> RunResult:
        import shutil
        import time

        out_size = _file_size(spec["stdout"])
        out = _read_regular(spec["stdout"], output_limit_bytes) or b""
        err = _read_regular(spec["stderr"], stderr_limit_bytes, tail=True) or b""
        # The folder's name is random: keep it out of tracebacks, so verdicts are the same on every rerun.
        err = err.replace(self.dir.encode(), SANDBOX_DIR_PLACEHOLDER.encode())
        files = {}
        for name in collect:
            content = _read_regular(_plain_name(cwd, name), output_limit_bytes)
            if content is not None:
                files[name] = content
        shutil.rmtree(cwd, ignore_errors=True)
        for path in (spec["stdin"], spec["stdout"], spec["stderr"]):
            try:
                os.unlink(path)
            except OSError:
                pass
        res = _decide(report, self.broken, out, out_size, err, time_limit_s, time.monotonic() - started,
                      output_limit_bytes)
        res.files, res.uid, res.isolation = files, self.uid, dict(self.isolation)
        res.launcher_pid = self.proc.pid if self.proc is not None else None
        return res

    def run(self, stdin: str | bytes = b"", **limits) -> RunResult:
        """Run the program once on `stdin` and wait for its result; never raises for the program's faults.
        Arguments: see submit."""
        return self.collect(self.submit(stdin, **limits))

    def submit(self, stdin: str | bytes = b"", *, time_limit_s: float, memory_mb: int,
               wall_limit_s: float | None = None, output_limit_bytes: int = 16 << 20,
               stderr_limit_bytes: int = 64 << 10, file_limit_mb: int = 16, nproc: int = 64, nofile: int = 128,
               argv: Sequence[str] = (), files: dict | None = None, collect: Sequence[str] = (),
               source: str | None = None) -> PendingRun:
        """Queue one run of the program on `stdin`; runs execute one after another, in the order submitted, and
        their results are collected in that order (collect). Submitting the next test before collecting this one
        keeps the reaper busy while the caller compares outputs.

        source: this run's program (default: the Sandbox's); argv: its command-line arguments; files: {name: str |
        bytes} put in its folder first; collect: names of files it may write there, returned in RunResult.files
        (regular files only, never through a link, at most output_limit_bytes each).
        time_limit_s: CPU seconds (RLIMIT_CPU, and the measured CPU time of the program and its children);
        wall_limit_s: real seconds (default 2 * time_limit_s + 5: generous, since CPU time is the limit that counts
        and a loaded machine stretches wall time; the wall limit only stops programs that sleep or block);
        memory_mb: address-space limit;
        output_limit_bytes: stdout beyond this kills the program (status output_limit); stdout, stderr and the files
        it writes are capped at max(output_limit_bytes + 1, file_limit_mb MB) each (RLIMIT_FSIZE).
        """
        import time

        submitted = time.monotonic()
        if isinstance(stdin, str):
            stdin = stdin.encode("utf-8", errors="replace")
        wall = wall_limit_s if wall_limit_s is not None else default_wall_s(time_limit_s)
        n, cwd = self._prepare(files, source)
        spec = self._spec(n, cwd, stdio="files", time_limit_s=time_limit_s, memory_mb=memory_mb, wall_s=wall,
                          fsize_bytes=max(output_limit_bytes + 1, int(file_limit_mb) << 20), nproc=nproc,
                          nofile=nofile, argv=argv)
        fd = os.open(spec["stdin"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(stdin)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        pending = PendingRun(n, cwd, spec, submitted, wall, time_limit_s, output_limit_bytes, stderr_limit_bytes,
                             tuple(collect))
        if not self.broken:
            self._send_run(spec, submitted + wall + REPORT_SLACK_S)
            self._queue.append(pending)
        return pending

    def discard(self, pending: PendingRun) -> None:
        """Stop a submitted run whose result is no longer wanted (killed if running), and drop its result."""
        import time

        if pending in self._queue and not self.broken:
            self._send_run({"cancel": pending.n}, time.monotonic() + REPORT_SLACK_S)
        self.collect(pending)

    def idle(self) -> bool:
        """No run in flight and the session alive: ready for more runs (of any program)."""
        return not self._queue and not self.broken and self.proc is not None and self.proc.poll() is None

    def collect(self, pending: PendingRun) -> RunResult:
        """The result of a submitted run (the oldest one not yet collected)."""
        import time

        report = None
        if pending in self._queue:
            if self._queue[0] is not pending:
                raise ValueError("Sandbox.collect: collect runs in the order they were submitted")
            # it began when the run before it ended (or when it was submitted): its deadline counts from there
            began = max(pending.submitted, self._last_report_at)
            report = self._await_report(began + pending.wall + REPORT_SLACK_S)
            self._queue.pop(0)
            self._last_report_at = time.monotonic()
        return self._finish(pending.n, pending.cwd, pending.spec, report, started=pending.submitted,
                            time_limit_s=pending.time_limit_s, output_limit_bytes=pending.output_limit_bytes,
                            stderr_limit_bytes=pending.stderr_limit_bytes, collect=pending.collect)

    def start(self, *, time_limit_s: float, memory_mb: int, wall_limit_s: float | None = None,
              stderr_limit_bytes: int = 64 << 10, file_limit_mb: int = 16, nproc: int = 64, nofile: int = 128,
              argv: Sequence[str] = (), files: dict | None = None, source: str | None = None) -> Channel:
        """An interactive run: the program's stdin and stdout are pipes to the returned Channel (Sandbox made with
        interactive=True). Limits as in run(), for the whole run."""
        import time

        if self.data_in is None:
            raise ValueError("Sandbox.start needs a Sandbox made with interactive=True")
        started = time.monotonic()
        wall = wall_limit_s if wall_limit_s is not None else default_wall_s(time_limit_s)
        n, cwd = self._prepare(files, source)
        spec = self._spec(n, cwd, stdio="pipe", time_limit_s=time_limit_s, memory_mb=memory_mb, wall_s=wall,
                          fsize_bytes=int(file_limit_mb) << 20, nproc=nproc, nofile=nofile, argv=argv)
        if not self.broken:
            self._send_run(spec, started + wall + REPORT_SLACK_S)
        return Channel(self, n, cwd, spec, started=started, wall=wall, time_limit_s=time_limit_s,
                       stderr_limit_bytes=stderr_limit_bytes)


@dataclass
class PendingRun:
    """A run submitted to a Sandbox, not yet collected."""
    n: int
    cwd: str
    spec: dict
    submitted: float
    wall: float
    time_limit_s: float
    output_limit_bytes: int
    stderr_limit_bytes: int
    collect: tuple

    def __eq__(self, other) -> bool:   # identity: `in` on the queue must not compare specs
        return self is other

    __hash__ = object.__hash__


class Channel:
    """The caller's end of an interactive run: length-prefixed messages to and from the program."""

    def __init__(self, box: Sandbox, n: int, cwd: str, spec: dict, *, started: float, wall: float,
                 time_limit_s: float, stderr_limit_bytes: int):
        self.box, self.n, self.cwd, self.spec = box, n, cwd, spec
        self.started, self.time_limit_s, self.stderr_limit_bytes = started, time_limit_s, stderr_limit_bytes
        self.deadline = started + wall + REPORT_SLACK_S
        self.closed = False

    def send(self, payload: bytes, timeout_s: float) -> bool:
        """Write one message; False when the program is gone or does not read in time."""
        import time

        if self.box.broken or self.closed:
            return False
        try:
            _write_all_before(self.box.data_in, frame(payload), min(self.deadline, time.monotonic() + timeout_s))
        except (OSError, TimeoutError):
            return False
        return True

    def recv(self, timeout_s: float, limit: int = 1 << 28) -> bytes | None:
        """The program's next message; None when it ended, sent a malformed or oversized one, or took too long."""
        import select
        import time

        if self.box.broken or self.closed:
            return None
        deadline = min(self.deadline, time.monotonic() + timeout_s)
        # the reaper keeps its own end of the program's stdout open (for later runs): the program's end shows as its
        # report arriving, not as end of file
        remaining = deadline - time.monotonic()
        ready = select.select([self.box.data_out, self.box.reports], [], [], max(0.0, remaining))[0]
        if self.box.data_out not in ready:
            return None
        try:
            return _read_frame_before(self.box.data_out, deadline, limit)
        except (OSError, TimeoutError, ValueError):
            return None

    def finish(self) -> RunResult:
        """Close the program's stdin, wait for its end (killed at the run's wall limit) and return its result."""
        self.closed = True
        try:
            os.close(self.box.data_in)
        except OSError:
            pass
        self.box._fds.remove(self.box.data_in)
        self.box.data_in = None
        report = self.box._await_report(self.deadline)
        return self.box._finish(self.n, self.cwd, self.spec, report, started=self.started,
                                time_limit_s=self.time_limit_s, output_limit_bytes=0,
                                stderr_limit_bytes=self.stderr_limit_bytes, collect=())


def run_python(source: str, stdin: str | bytes = b"", *, time_limit_s: float, memory_mb: int,
               wall_limit_s: float | None = None, output_limit_bytes: int = 16 << 20,
               stderr_limit_bytes: int = 64 << 10, file_limit_mb: int = 16, nproc: int = 64, nofile: int = 128,
               argv: Sequence[str] = (), files: dict | None = None, collect: Sequence[str] = (),
               workdir_parent: str | None = None) -> RunResult:
    """Run `source` once as a Python 3 program with `stdin` as its standard input (a Sandbox of one run); never
    raises for the program's faults. Arguments: see Sandbox.run."""
    try:
        box = Sandbox(source, workdir_parent=workdir_parent)
    except SandboxBroken as exc:
        return RunResult("sandbox_error", message=str(exc))
    with box:
        return box.run(stdin, time_limit_s=time_limit_s, memory_mb=memory_mb, wall_limit_s=wall_limit_s,
                       output_limit_bytes=output_limit_bytes, stderr_limit_bytes=stderr_limit_bytes,
                       file_limit_mb=file_limit_mb, nproc=nproc, nofile=nofile, argv=argv, files=files,
                       collect=collect)


def _decide(report: dict | None, broken: str | None, out: bytes, out_size: int, err: bytes, time_limit_s: float,
            wall_s: float, out_cap: int) -> RunResult:
    report = report or {}
    res = RunResult("ok", stdout=out, stderr=err, exit_code=report.get("exit_code"), signal=report.get("signal"),
                    cpu_s=report.get("cpu_s"), wall_s=wall_s)
    if out_cap and out_size > out_cap:
        res.status, res.message = "output_limit", f"more than {out_cap} bytes on stdout"
    elif report.get("wall_timeout") or (not report and broken and "deadline" in broken):
        res.status, res.message = "timeout", f"wall-clock limit ({wall_s:.1f} s)"
    elif not report:
        res.status, res.message = "sandbox_error", broken or "no report from the sandbox"
    elif "spawn_error" in report:
        res.status, res.message = "sandbox_error", report["spawn_error"]
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
