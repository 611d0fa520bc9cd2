"""What every Snakemake script shares: logging into the rule's log file and a provenance record per job.

Scripts are thin:

    from ded.runtime import snakemake_job
    with snakemake_job(snakemake) as log:
        log.info("...")
        do_the_work(snakemake.input..., snakemake.output...)

On success the job's provenance record is written (ded.provenance); on failure the exception is logged and re-raised,
so Snakemake marks the job failed and removes its declared outputs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator

from ded import provenance


def get_logger(name: str = "ded") -> logging.Logger:
    return logging.getLogger(name)


def setup_logging(log_path: str | None, level: int = logging.INFO) -> logging.Logger:
    logger = get_logger()
    logger.setLevel(level)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(fmt)
    logger.addHandler(stream)
    if log_path:
        handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logger.propagate = False
    return logger


@contextlib.contextmanager
def snakemake_job(smk) -> Iterator[logging.Logger]:
    """Run a script body for the Snakemake job `smk` (the `snakemake` object of a script: directive)."""
    log_path = smk.log[0] if len(smk.log) else None
    logger = setup_logging(log_path)
    started = time.time()
    logger.info("rule %s wildcards %s", smk.rule, dict(smk.wildcards.items()))
    try:
        yield logger
    except Exception:
        logger.exception("rule %s failed", smk.rule)
        raise
    ended = time.time()
    logger.info("rule %s done in %.1f s", smk.rule, ended - started)
    provenance.record_job(smk, started=started, ended=ended)
    if ends_without_teardown(smk):
        end_process(0)


def ends_without_teardown(smk) -> bool:
    """Whether the job's process ends by end_process: the script of a tiny-world job (not a test calling this), whose
    work takes seconds. In paper mode the interpreter's own exit runs, which shuts down what lives until then (a vLLM
    judge is loaded once per process)."""
    is_script = getattr(sys.modules.get("__main__"), "snakemake", None) is smk
    return is_script and (getattr(smk, "config", None) or {}).get("mode") == "tiny"


def end_process(code: int) -> None:
    """End this process now, once its outputs are written: logs and standard streams flushed, the interpreter's
    teardown skipped.

    A job process that loaded torch and transformers spends 1.3-2 s tearing down its modules on exit (measured on
    the 2-core development VM), ~60 such jobs per tiny-world run; nothing of a job's outputs is left for that
    teardown to do (files are written and closed, worker pools closed, before this is called).
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def skip_unused_imports_in_transformers() -> None:
    """Tell transformers that scikit-learn and SciPy are absent, before its model classes are imported.

    transformers imports scikit-learn (and SciPy with it) at start-up only for assisted decoding's `roc_curve`, and
    SciPy for the matching losses of object detectors, neither of which DED uses: about 2.5 s of every job that loads
    transformers on the 2-core development VM, ~45 such jobs per tiny-world run. A process that uses scikit-learn or
    SciPy itself still can (only transformers' checks are changed). Nothing happens once transformers' generation
    code is loaded, or where transformers has no such check.
    """
    if "transformers.generation.candidate_generator" in sys.modules:
        return
    import transformers.utils

    for check in ("is_sklearn_available", "is_scipy_available"):
        if hasattr(transformers.utils, check):
            setattr(transformers.utils, check, lambda: False)
