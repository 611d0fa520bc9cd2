"""The code sandbox (ded.verify.sandbox) against hostile programs: each gets a verdict, nothing escapes, and the
machine stays usable (no process left behind, a normal program still runs)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ded.verify.codecheck import check_code, outputs_match, tokens_match
from ded.verify.sandbox import UID_BASE, Sandbox, capabilities, run_python

LIMITS = dict(time_limit_s=1, memory_mb=256)


@pytest.fixture(scope="module")
def caps():
    return capabilities()


@pytest.fixture(scope="module")
def isolated(caps):
    """Tests of what only the namespaces give (no network, read-only filesystem) need root, as in CI."""
    if not (caps.get("namespaces") and caps.get("readonly_fs") and caps.get("uid")):
        pytest.skip(f"sandbox isolation unavailable here (needs root and unshare): {caps}")
    return caps


def processes_of(uid: int) -> list[int]:
    """Processes running as `uid` (real and effective: the reaper of a live Sandbox has that real uid, but root's
    effective one)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == int(line.split()[2]) == uid:
                pids.append(int(entry.name))
    return pids


def assert_nothing_left(res, within_s: float = 5.0) -> None:
    """No process of the run's uid survives, and a normal program runs afterwards."""
    if res.uid is not None and res.uid >= UID_BASE:
        deadline = time.monotonic() + within_s
        while processes_of(res.uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(res.uid) == [], f"processes of uid {res.uid} outlived the run"
    after = run_python("print(6 * 7)", b"", **LIMITS)
    assert after.status == "ok" and after.stdout == b"42\n"


def test_runs_a_program_on_its_input(caps):
    res = run_python("import sys\nprint(sum(map(int, sys.stdin.read().split())))", "1 2 3\n4", **LIMITS)
    assert caps["status"] == "ok"
    assert res.status == "ok", res
    assert res.stdout == b"10\n"
    assert res.exit_code == 0 and res.cpu_s is not None


def test_clean_environment_own_folder_and_identity(isolated):
    src = ("import os, json\n"
           "open('scratch.txt', 'w').write('mine')\n"
           "print(json.dumps({'env': sorted(os.environ), 'cwd': os.getcwd(), 'uid': os.getuid(),\n"
           "                  'files': sorted(os.listdir('.')), 'pid': os.getpid()}))\n")
    os.environ["DED_TEST_SECRET"] = "leak"
    try:
        res = run_python(src, b"", **LIMITS)
    finally:
        del os.environ["DED_TEST_SECRET"]
    assert res.status == "ok", res
    info = json.loads(res.stdout)
    assert "DED_TEST_SECRET" not in info["env"]
    assert set(info["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "PYTHONHASHSEED", "LC_CTYPE"}
    assert info["uid"] == res.uid and info["uid"] >= UID_BASE
    assert info["files"] == ["scratch.txt", "solution.py"]
    assert info["pid"] == 2                      # PID namespace: pid 1 is the sandbox's reaper
    assert os.path.basename(info["cwd"]) == "run-0"          # each run has its own folder in the Sandbox's
    assert os.path.basename(os.path.dirname(info["cwd"])).startswith("ded-sbx-")
    assert not os.path.exists(os.path.dirname(info["cwd"]))  # all of it is removed afterwards


def test_infinite_loop_times_out_on_cpu(caps):
    res = run_python("while True:\n    pass\n", b"", time_limit_s=1, memory_mb=256, wall_limit_s=20)
    assert res.status == "timeout", res
    assert res.cpu_s is not None and 0.5 < res.cpu_s < 5
    assert_nothing_left(res)


def test_sleeping_program_hits_the_wall_limit(caps):
    res = run_python("import time\ntime.sleep(600)\n", b"", time_limit_s=1, memory_mb=256, wall_limit_s=1.5)
    assert res.status == "timeout" and "wall" in res.message
    assert res.wall_s < 30
    assert_nothing_left(res)


def test_fork_bomb_is_contained(isolated):
    # children leave the process group (setsid) and keep forking: the PID namespace still takes them all
    src = ("import os\n"
           "while True:\n"
           "    try:\n"
           "        if os.fork() == 0:\n"
           "            os.setsid()\n"
           "    except OSError:\n"
           "        pass\n")
    res = run_python(src, b"", time_limit_s=1, memory_mb=256, wall_limit_s=3, nproc=32)
    assert res.status == "timeout", res
    assert_nothing_left(res)
    assert subprocess.run([sys.executable, "-c", "print('fine')"], capture_output=True, check=True).stdout == b"fine\n"


def test_ten_gigabytes_fail_with_memory(caps):
    res = run_python("x = bytearray(10 * 1024 ** 3)\nprint(len(x))\n", b"", **LIMITS)
    assert res.status == "memory", res
    assert res.stdout == b""
    assert_nothing_left(res)


def test_writes_outside_its_folder_fail(isolated, tmp_path):
    open_dir = tmp_path / "world-writable"
    open_dir.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(open_dir, 0o777)             # only the read-only mount stops a write here
    targets = [str(open_dir / "escaped.txt"), f"/tmp/ded-escape-{os.getpid()}.txt", "/dev/shm/ded-escape.txt"]
    src = ("import json, sys\n"
           f"targets = {targets!r}\n"
           "out = {}\n"
           "for t in targets:\n"
           "    try:\n"
           "        open(t, 'w').write('escaped')\n"
           "        out[t] = 'written'\n"
           "    except OSError as e:\n"
           "        out[t] = e.strerror\n"
           "open('inside.txt', 'w').write('ok')\n"
           "out['inside'] = open('inside.txt').read()\n"
           "print(json.dumps(out))\n")
    res = run_python(src, b"", **LIMITS)
    assert res.status == "ok", res
    out = json.loads(res.stdout)
    assert out["inside"] == "ok"
    for target in targets:
        assert out[target] != "written", out
        assert not os.path.exists(target)
    (open_dir / "probe.txt").write_text("root can")   # the folder itself is writable: the test is not vacuous


def test_socket_cannot_reach_a_loopback_listener(isolated):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    connect = ("import socket\n"
               "s = socket.socket()\n"
               "s.settimeout(2)\n"
               "try:\n"
               f"    s.connect(('127.0.0.1', {port}))\n"
               "    s.sendall(b'leak')\n"
               "    print('connected')\n"
               "except OSError as e:\n"
               "    print('blocked', e.errno)\n")
    try:
        # the listener is reachable from an ordinary process: the test is not vacuous
        plain = subprocess.run([sys.executable, "-c", connect], capture_output=True, timeout=30, check=True)
        assert plain.stdout.startswith(b"connected")
        conn, _ = listener.accept()
        conn.close()
        res = run_python(connect, b"", time_limit_s=2, memory_mb=256)
        assert res.status == "ok", res
        assert res.stdout.startswith(b"blocked"), res.stdout
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def test_non_utf8_output_gets_a_verdict(caps):
    src = "import sys\nsys.stdout.buffer.write(b'\\xff\\xfe 3\\n')\nsys.stderr.buffer.write(b'\\xc3\\x28 oops')\n"
    res = run_python(src, b"", **LIMITS)
    assert res.status == "ok" and res.stdout == b"\xff\xfe 3\n"
    assert "oops" in res.stderr_tail()
    task = {"id": "t", "domain": "code", "tests": [{"input": "", "output": "3"}], "time_limit_s": None,
            "memory_limit_mb": None}
    response = "<think>x</think>\n```python\n" + src + "```"
    verdict = check_code(task, response, code_cfg={"timeout_s": 1, "memory_mb": 256})
    assert verdict["ok"] is False and verdict["reason"] == "wrong_answer"
    json.dumps(verdict)


def test_output_flood_is_capped(caps):
    res = run_python("while True:\n    print('x' * 1000)\n", b"", time_limit_s=2, memory_mb=256,
                     output_limit_bytes=100_000)
    assert res.status == "output_limit"
    assert len(res.stdout) <= 100_000
    assert_nothing_left(res)


def test_runtime_error_and_syntax_error(caps):
    assert run_python("raise SystemExit(3)", b"", **LIMITS).status == "runtime_error"
    res = run_python("def (:\n", b"", **LIMITS)
    assert res.status == "runtime_error" and "SyntaxError" in res.stderr_tail()


def test_token_comparison_with_float_tolerance():
    assert outputs_match("1 2\n3.0000001\n", "1 2 3", 1e-6)
    assert not outputs_match("1 2 3.01", "1 2 3", 1e-6)
    assert not outputs_match("1 2", "1 2 3", 1e-6)
    assert tokens_match("1e3", "1000.0", 1e-9)
    assert not tokens_match("10000000000000000001", "10000000000000000000", 1e-6)   # integers: exact
    assert not tokens_match("YES", "yes", 1e-6)
    assert tokens_match("nan", "nan", 1e-6) and not tokens_match("inf", "1e308", 1e-6)


def test_the_callers_interpreter_can_run_the_program(isolated, monkeypatch):
    # a pyenv under /root is not reachable by the sandbox uid: the launcher exposes just its folder
    base = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    monkeypatch.setenv("DED_SANDBOX_PYTHON", base)
    res = run_python("import sys\nprint(sys.version)", b"", **LIMITS)
    assert res.status == "ok", res
    assert res.stdout.decode().strip() == sys.version


def test_tracebacks_do_not_name_the_random_sandbox_folder():
    from ded.verify.sandbox import SANDBOX_DIR_PLACEHOLDER, run_python

    first = run_python("raise ValueError('x')\n", "", time_limit_s=5, memory_mb=256)
    second = run_python("raise ValueError('x')\n", "", time_limit_s=5, memory_mb=256)
    assert first.status == "runtime_error"
    assert SANDBOX_DIR_PLACEHOLDER in first.stderr_tail() and "ded-sbx-" not in first.stderr_tail()
    assert first.stderr == second.stderr


# --- many runs in one Sandbox (all tests of one response) ---------------------------------------------------------
def test_runs_of_one_sandbox_leave_nothing_to_the_next(isolated):
    # each run reports what it finds, then leaves a file, a SysV shared-memory segment and a daemon that left its
    # process group; the next run of the same Sandbox must find none of them
    src = ("import ctypes, os, time\n"
           "segments = len(open('/proc/sysvipc/shm').read().splitlines()[1:])\n"
           "print(segments, sorted(os.listdir('.')), flush=True)\n"
           "open('left.txt', 'w').write('x')\n"
           "assert ctypes.CDLL(None).shmget(0, 4096, 0o1600) >= 0\n"      # IPC_PRIVATE, IPC_CREAT | 0600
           "if os.fork() == 0:\n"
           "    os.setsid()\n"
           "    time.sleep(60)\n")
    with Sandbox(src) as box:
        first = box.run(b"", **LIMITS)
        assert processes_of(box.uid) == []              # the daemon was killed before the run reported
        second = box.run(b"", **LIMITS)
        assert box.uid == first.uid == second.uid and first.uid >= UID_BASE
    assert first.status == second.status == "ok", (first, second)
    assert first.stdout == second.stdout == b"0 ['solution.py']\n"
    assert_nothing_left(second)


def test_program_has_only_stdio_and_cannot_raise_its_limits(caps):
    src = ("import os, resource\n"
           "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
           "limits = [resource.getrlimit(getattr(resource, n)) for n in ('RLIMIT_AS', 'RLIMIT_NPROC', 'RLIMIT_CPU')]\n"
           "try:\n"
           "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
           "    raised = True\n"
           "except ValueError:\n"
           "    raised = False\n"
           "print(fds[:3], len(fds), limits, raised)\n")
    res = run_python(src, b"", time_limit_s=1, memory_mb=256, nproc=32)
    assert res.status == "ok", res
    # 0, 1, 2 and the descriptor listdir itself opens: no pipe of the sandbox reaches the program
    assert res.stdout == (f"[0, 1, 2] 4 [({256 << 20}, {256 << 20}), (32, 32), (1, 2)] False\n").encode()


def test_program_cannot_kill_the_reaper(isolated):
    src = ("import os, signal\n"
           "for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):\n"
           "    os.kill(1, sig)\n"
           "print('still here')\n")
    with Sandbox(src) as box:
        runs = [box.run(b"", **LIMITS) for _ in range(2)]
    assert [r.status for r in runs] == ["ok", "ok"] and all(r.stdout == b"still here\n" for r in runs), runs


def test_a_timeout_does_not_end_the_sandbox(caps):
    with Sandbox("import sys, time\nif sys.stdin.read() == 'sleep':\n    time.sleep(60)\nprint('done')\n") as box:
        slow = box.run("sleep", time_limit_s=1, memory_mb=256, wall_limit_s=1.5)
        fast = box.run("go", time_limit_s=1, memory_mb=256)
    assert slow.status == "timeout" and "wall" in slow.message
    assert fast.status == "ok" and fast.stdout == b"done\n"
    assert_nothing_left(fast)


def test_interactive_run_talks_through_its_stdio(caps):
    echo = ("import os\n"
            "def read(n):\n"
            "    data = b''\n"
            "    while len(data) < n:\n"
            "        chunk = os.read(0, n - len(data))\n"
            "        if not chunk:\n"
            "            return None\n"
            "        data += chunk\n"
            "    return data\n"
            "while True:\n"
            "    head = read(4)\n"
            "    if head is None:\n"
            "        break\n"
            "    body = read(int.from_bytes(head, 'big')).upper()\n"
            "    os.write(1, len(body).to_bytes(4, 'big') + body)\n")
    with Sandbox(echo, interactive=True) as box:
        channel = box.start(time_limit_s=5, memory_mb=256)
        replies = []
        for word in (b"abc", b"x" * 300_000):                 # larger than a pipe's buffer
            assert channel.send(word, timeout_s=30)
            replies.append(channel.recv(timeout_s=30))
        res = channel.finish()
    assert replies == [b"ABC", b"X" * 300_000]
    assert res.status == "ok", res


def test_submitted_runs_come_back_in_order_and_are_stopped_at_close(caps):
    with Sandbox("import sys\nimport time\nn = int(sys.stdin.read())\ntime.sleep(n)\nprint(n)\n") as box:
        first, second = box.submit("0", **LIMITS), box.submit("1", **LIMITS)
        with pytest.raises(ValueError, match="in the order they were submitted"):
            box.collect(second)
        assert box.collect(first).stdout == b"0\n" and box.collect(second).stdout == b"1\n"
        box.submit("60", time_limit_s=1, memory_mb=256, wall_limit_s=120)   # never collected
        started = time.monotonic()
        uid = box.uid
    assert time.monotonic() - started < 10            # closing did not wait for the sleeping run
    if uid is not None:
        deadline = time.monotonic() + 5
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(uid) == []
