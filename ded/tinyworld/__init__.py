"""The tiny synthetic world: task generators, chain-of-thought writers, a byte-level BPE and tiny Qwen2 models.

It stands in for the paper's hub models and datasets so that the whole DED pipeline runs on 2 CPU cores:
`tasks` generates math, code and multiple-choice tasks in the seed/benchmark schema, `cot` writes responses in a
teacher's style, `tokenizer` trains the shared tokenizer and `models` pretrains and scores the tiny models.
"""

STYLES = ("concise", "verbose", "direct")


def atomic_dir(out_dir):
    """Context manager: a temporary folder beside out_dir, renamed onto it (replacing it) only if the block succeeds,
    so that an interrupted job never leaves a half-saved model that a later rule would load."""
    import contextlib
    import os
    import shutil
    import tempfile
    from pathlib import Path

    @contextlib.contextmanager
    def _cm():
        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            yield tmp
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)

    return _cm()
