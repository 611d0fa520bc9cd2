"""Throughput of verification, as ratios measured side by side in one run (prints figures; not a test).

Three ratios, each from interleaved repetitions (A, B, A, B, ...) so that load from other work on the machine falls on
both sides alike; the median over repetitions is the figure, the min-max spread is printed next to it:

  code   per-test cost of ded.verify.check_code on one response with --tests stdin tests (a fresh sandboxed
         process per test in the verification process's Sandbox, output comparison) / per-test cost of a bare
         `subprocess.run([python, -I, -S, -B, program])` of the same program on the same inputs.   goal <= 1.3
         The Sandbox's own start (interpreter, namespaces: once per verification process) is printed apart.
  math   throughput of ded.verify.is_correct_many (a warm ded.verify.pool.WorkerPool of --workers processes) /
         throughput of raw math-verify, `verify(parse(gold), parse(solution))` in a warm multiprocessing pool of as
         many processes, on the same MATH-500 pairs (reference solution against gold).               goal >= 0.8
  eval   speed-up of ded.evaluate.score_responses with --workers processes (its own pool, started as in an
         evaluation job) over the old serial scoring (one is_correct call after another in the job's process), on
         MATH-500 solutions and code responses. No goal: it depends on how many cores are free, which the math
         figure shows as the gain of raw math-verify's pool over a serial loop, measured in the same run.

    .venv/bin/python benchmarks/verify_bench.py                       # ~2 minutes on 2 cores
    .venv/bin/python benchmarks/verify_bench.py --reps 7 --tests 100 --json benchmarks/out/verify_bench.json

MATH-500 comes from --math500 (default: $DED_SHARED_DATA/math500.jsonl, else ../shared/data/math500.jsonl); without
it the math and eval figures are skipped, with a message. Exit status 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ded.verify import check_code, is_correct, is_correct_many
from ded.verify.pool import WorkerPool
from ded.verify.sandbox import Sandbox, capabilities, program_python

CODE_GOAL, MATH_GOAL = 1.3, 0.8
# A typical competitive program: read everything, compute, print.
PROGRAM = ("import sys\n"
           "def main():\n"
           "    data = sys.stdin.read().split()\n"
           "    n = int(data[0])\n"
           "    values = list(map(int, data[1:1 + n]))\n"
           "    print(sum(values), max(values))\n"
           "main()\n")


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"


def code_task(n_tests: int) -> dict:
    tests = []
    for i in range(n_tests):
        values = [(i * 7919 + k * 104729) % 1000 for k in range(1, 51)]
        tests.append({"input": f"{len(values)}\n{' '.join(map(str, values))}\n",
                      "output": f"{sum(values)} {max(values)}\n"})
    return {"id": "bench", "domain": "code", "source": "bench", "tests": tests, "time_limit_s": None,
            "memory_limit_mb": None, "meta": {}}


def bench_code(n_tests: int, reps: int) -> dict:
    task = code_task(n_tests)
    response = "<think>\nsum and max\n</think>\n\n```python\n" + PROGRAM + "```"
    cfg = {"timeout_s": 2, "memory_mb": 256}
    python, _ = program_python(unprivileged=os.geteuid() == 0)
    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "solution.py"
        program.write_text(PROGRAM)
        starts = []
        for _ in range(5):
            start = time.perf_counter()
            Sandbox().close()
            starts.append((time.perf_counter() - start) * 1000)
        assert check_code(task, response, code_cfg=cfg)["ok"]        # warm-up, and the grader agrees
        ratios, sandboxed, bare = [], [], []
        for _ in range(reps):
            start = time.perf_counter()
            verdict = check_code(task, response, code_cfg=cfg)
            a = (time.perf_counter() - start) / n_tests
            assert verdict["ok"], verdict
            start = time.perf_counter()
            for test in task["tests"]:
                done = subprocess.run([python, "-I", "-S", "-B", str(program)], input=test["input"].encode(),
                                      capture_output=True, check=True)
                assert done.stdout.decode() == test["output"]
            b = (time.perf_counter() - start) / n_tests
            sandboxed.append(a * 1000)
            bare.append(b * 1000)
            ratios.append(a / b)
    return {"tests": n_tests, "sandbox_ms_per_test": sandboxed, "bare_ms_per_test": bare, "ratio": ratios,
            "session_start_ms": starts, "python": python, "isolation": capabilities()}


# --- math --------------------------------------------------------------------------------------------------------
def _raw_init() -> None:
    logging.disable(logging.WARNING)
    from math_verify import parse, verify

    verify(parse("\\boxed{1}"), parse("1"))


def _raw_verify(pair: tuple[str, str]) -> bool:
    from math_verify import parse, verify

    gold, solution = pair
    return bool(verify(parse(f"\\boxed{{{gold}}}"), parse(solution)))


def math500_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def math_items(rows: list[dict]) -> list[tuple[dict, str]]:
    return [({"id": f"m{i}", "domain": "math", "answer": r["answer"]},
             "<think>\nreasoning\n</think>\n\n" + r["solution"]) for i, r in enumerate(rows)]


def bench_math(rows: list[dict], workers: int, reps: int) -> dict:
    pairs = [(r["answer"], r["solution"]) for r in rows]
    items = math_items(rows)
    filtering = {"math_timeout_s": 5}
    ratios, ours_s, raw_s, gains = [], [], [], []
    _raw_init()                                                       # the serial raw loop runs here
    with WorkerPool(workers=workers) as pool, \
            multiprocessing.get_context("spawn").Pool(workers, initializer=_raw_init) as raw:
        raw.map(_raw_verify, pairs[:workers * 4])                   # both pools warm before timing
        is_correct_many(items[:workers * 4], filtering=filtering, pool=pool)
        for _ in range(reps):
            start = time.perf_counter()
            ours = is_correct_many(items, filtering=filtering, pool=pool)
            a = time.perf_counter() - start
            start = time.perf_counter()
            theirs = raw.map(_raw_verify, pairs)
            b = time.perf_counter() - start
            start = time.perf_counter()
            for pair in pairs:
                _raw_verify(pair)
            c = time.perf_counter() - start
            agree = sum(bool(v["ok"]) == t for v, t in zip(ours, theirs))
            ours_s.append(a)
            raw_s.append(b)
            ratios.append(b / a)                                      # throughput ours / raw
            gains.append(c / b)
    return {"pairs": len(pairs), "workers": workers, "ours_s": ours_s, "raw_s": raw_s, "ratio": ratios,
            "raw_parallel_gain": gains, "verdicts_equal": agree, "ours_ok": sum(bool(v["ok"]) for v in ours),
            "raw_ok": sum(theirs)}


# --- evaluation scoring ------------------------------------------------------------------------------------------
def bench_eval(rows: list[dict], workers: int, reps: int, n_code: int, n_tests: int) -> dict:
    from ded.evaluate import score_responses
    from ded.generation import Generation

    filtering = {"math_timeout_s": 5, "code": {"timeout_s": 2, "memory_mb": 256}}
    tasks = [{"id": f"m{i}", "domain": "math", "answer": r["answer"], "difficulty": None, "meta": {}}
             for i, r in enumerate(rows)]
    gens = [[Generation("<think>\nr\n</think>\n\n" + r["solution"], 100, "stop")] for r in rows]
    code = code_task(n_tests)
    tasks.append(code)
    gens.append([Generation("<think>\nc\n</think>\n\n```python\n" + PROGRAM + "```", 80, "stop")
                 for _ in range(n_code)])
    speedups, warm_speedups, serial_s, parallel_s, warm_s = [], [], [], [], []
    is_correct(tasks[0], gens[0][0].text, filtering=filtering)        # math-verify imported here before timing
    with WorkerPool(workers=workers) as pool:
        score_responses(tasks[:4], [g[:1] for g in gens[:4]], filtering=filtering, pool=pool)
        for _ in range(reps):
            start = time.perf_counter()
            serial = score_responses(tasks, gens, lambda t, r: is_correct(t, r, filtering=filtering))
            a = time.perf_counter() - start
            start = time.perf_counter()
            parallel = score_responses(tasks, gens, filtering=filtering, workers=workers)  # own pool, as a job
            b = time.perf_counter() - start
            start = time.perf_counter()
            warm = score_responses(tasks, gens, filtering=filtering, pool=pool)
            c = time.perf_counter() - start
            assert [r["correct"] for r in serial] == [r["correct"] for r in parallel] == [r["correct"] for r in warm]
            serial_s.append(a)
            parallel_s.append(b)
            warm_s.append(c)
            speedups.append(a / b)
            warm_speedups.append(a / c)
    return {"math_responses": len(rows), "code_responses": n_code, "tests_each": n_tests, "workers": workers,
            "serial_s": serial_s, "parallel_s": parallel_s, "warm_s": warm_s, "ratio": speedups,
            "warm_ratio": warm_speedups}


def default_math500() -> Path:
    env = os.environ.get("DED_SHARED_DATA")
    base = Path(env) if env else Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    return base / "math500.jsonl"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="processes on both sides of the math and eval figures")
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions per figure")
    ap.add_argument("--tests", type=int, default=50, help="tests of the code response")
    ap.add_argument("--math500", type=Path, default=default_math500())
    ap.add_argument("--eval-math", type=int, default=500, help="MATH-500 responses in the eval figure")
    ap.add_argument("--eval-code", type=int, default=8, help="code responses in the eval figure")
    ap.add_argument("--json", type=Path, help="write every measurement here")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()}", flush=True)
    out, failed = {}, []
    out["code"] = code = bench_code(args.tests, args.reps)
    print(f"code  ({args.tests} tests, {code['python']}; isolation {code['isolation']})\n"
          f"      sandbox ms/test {spread(code['sandbox_ms_per_test'])}\n"
          f"      bare    ms/test {spread(code['bare_ms_per_test'])}\n"
          f"      ratio sandbox/bare {spread(code['ratio'])}   goal <= {CODE_GOAL}\n"
          f"      (Sandbox start and close, once per verification process: ms {spread(code['session_start_ms'])})",
          flush=True)
    if statistics.median(code["ratio"]) > CODE_GOAL:
        failed.append("code")
    if args.math500.is_file():
        rows = math500_rows(args.math500)
        out["math"] = m = bench_math(rows, args.workers, args.reps)
        print(f"math  ({m['pairs']} MATH-500 pairs, {m['workers']} processes each; verdicts equal on "
              f"{m['verdicts_equal']}, ok {m['ours_ok']} / raw {m['raw_ok']})\n"
              f"      is_correct_many s {spread(m['ours_s'])}\n"
              f"      raw math-verify s {spread(m['raw_s'])}\n"
              f"      ratio throughput ours/raw {spread(m['ratio'])}   goal >= {MATH_GOAL}\n"
              f"      (parallel gain the machine gives now: raw serial / raw pool {spread(m['raw_parallel_gain'])})",
              flush=True)
        if statistics.median(m["ratio"]) < MATH_GOAL:
            failed.append("math")
        out["eval"] = e = bench_eval(rows[:args.eval_math], args.workers, max(1, args.reps // 2 + 1),
                                     args.eval_code, args.tests)
        print(f"eval  ({e['math_responses']} math + {e['code_responses']} code responses of {e['tests_each']} "
              f"tests, {e['workers']} workers)\n"
              f"      serial s {spread(e['serial_s'])}\n"
              f"      score_responses s {spread(e['parallel_s'])}   (its pool started in the timing, as in a job)\n"
              f"      speed-up {spread(e['ratio'])}\n"
              f"      speed-up with the pool already started {spread(e['warm_ratio'])}", flush=True)
    else:
        print(f"math, eval: skipped ({args.math500} is absent; pass --math500 or set DED_SHARED_DATA)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=str))
    if failed:
        print(f"goal missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
