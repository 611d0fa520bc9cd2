"""Worker processes with a hard deadline per job: a job that hangs (a math expression that no signal interrupts, a
stuck sandbox) gets the outcome `timeout`, its worker is killed and replaced, and the other jobs go on.

    with WorkerPool(workers=2) as pool:
        outcomes = pool.run([Job("ded.verify:correct_job", (task, response, filtering), deadline_s=20), ...])
    outcomes[i]   # Outcome(status="ok" | "timeout" | "error", value, message), in the order of the jobs

Workers are fresh interpreters (`python -m ded.verify.pool`), not forks: the caller may hold threads (tokenizers,
torch) that make fork unsafe, and multiprocessing's spawn would re-run a Snakemake script's top level in every
worker. Jobs name a module-level function as "module:function"; arguments and results travel pickled over pipes.
A worker dies with its parent (parent-death signal) and exits when its pipe closes.
"""

from __future__ import annotations

import collections
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

PR_SET_PDEATHSIG = 1
WORKER_MEMORY_MB = 8192       # address-space limit of a worker: a runaway expression fails there, not the machine
STARTUP_TIMEOUT_S = 300.0     # importing math-verify on a loaded machine
READY = "__ready__"


@dataclass
class Job:
    func: str                    # "module:function"
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    deadline_s: float = 60.0     # wall seconds from dispatch to result


@dataclass
class Outcome:
    status: str                  # ok | timeout | error
    value: Any = None
    message: str = ""


def _resolve(name: str):
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


# ---------------------------------------------------------------------------------------------------------------
# The worker side
# ---------------------------------------------------------------------------------------------------------------
def _worker_main(rfd: int, wfd: int, preload: Sequence[str]) -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    try:
        import resource

        limit = WORKER_MEMORY_MB << 20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or hard > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    inbox, outbox = Connection(rfd, writable=False), Connection(wfd, readable=False)
    for name in preload:
        _resolve(name)()
    outbox.send(READY)
    while True:
        try:
            job_id, func, args, kwargs = inbox.recv()
        except (EOFError, OSError):
            return
        try:
            outbox.send((job_id, True, _resolve(func)(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 (the job's failure is its outcome, the worker lives on)
            outbox.send((job_id, False, f"{type(exc).__name__}: {exc}"[:2000]))


# ---------------------------------------------------------------------------------------------------------------
# The parent side
# ---------------------------------------------------------------------------------------------------------------
class _Worker:
    def __init__(self, preload: Sequence[str]):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ded.verify.pool", str(to_child_r), str(from_child_w), *preload],
                pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL)
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.inbox = Connection(to_child_w, readable=False)
        self.outbox = Connection(from_child_r, writable=False)
        self.started = time.monotonic()
        self.ready = False
        self.job: tuple[int, float] | None = None   # (job index, deadline)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.inbox.close()
        self.outbox.close()


class WorkerPool:
    def __init__(self, workers: int = 2, preload: Sequence[str] = ("ded.verify.mathcheck:warm_up",)):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.preload = tuple(preload)
        self.workers = [_Worker(self.preload) for _ in range(workers)]
        self.restarts = 0

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for w in self.workers:
            w.kill()
        self.workers = []

    def _replace(self, w: _Worker) -> _Worker:
        w.kill()
        self.restarts += 1
        fresh = _Worker(self.preload)
        self.workers[self.workers.index(w)] = fresh
        return fresh

    def run(self, jobs: Sequence[Job], on_result=None) -> list[Outcome]:
        """Run every job; outcomes in job order. on_result(index, outcome) is called as each one finishes."""
        if not self.workers:
            raise RuntimeError("WorkerPool is closed")
        results: list[Outcome | None] = [None] * len(jobs)
        queue = collections.deque(range(len(jobs)))

        def finish(i: int, outcome: Outcome) -> None:
            results[i] = outcome
            if on_result is not None:
                on_result(i, outcome)

        while queue or any(w.job for w in self.workers):
            now = time.monotonic()
            for w in list(self.workers):
                if w.ready and w.job is None and queue:
                    i = queue.popleft()
                    job = jobs[i]
                    try:
                        w.inbox.send((i, job.func, tuple(job.args), dict(job.kwargs)))
                    except (BrokenPipeError, OSError):
                        queue.appendleft(i)
                        self._replace(w)
                        continue
                    w.job = (i, now + job.deadline_s)
            deadlines = [w.job[1] for w in self.workers if w.job]
            deadlines += [w.started + STARTUP_TIMEOUT_S for w in self.workers if not w.ready]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            by_conn = {w.outbox: w for w in self.workers}
            for conn in wait(list(by_conn), timeout):
                w = by_conn[conn]
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    code = w.proc.poll()
                    if w.job is not None:
                        finish(w.job[0], Outcome("error", message=f"worker died (exit code {code})"))
                    elif not w.ready:
                        raise RuntimeError(f"verification worker failed to start (exit code {code})") from None
                    self._replace(w)
                    continue
                if msg == READY:
                    w.ready = True
                    continue
                i, ok, value = msg
                finish(i, Outcome("ok", value) if ok else Outcome("error", message=value))
                w.job = None
            now = time.monotonic()
            for w in list(self.workers):
                if w.job is not None and now > w.job[1]:
                    i = w.job[0]
                    finish(i, Outcome("timeout", message=f"no result within {jobs[i].deadline_s:.0f} s; worker killed"))
                    self._replace(w)
                elif not w.ready and now > w.started + STARTUP_TIMEOUT_S:
                    raise RuntimeError(f"verification worker not ready after {STARTUP_TIMEOUT_S:.0f} s")
        return results  # type: ignore[return-value]


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])
