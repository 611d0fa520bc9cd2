"""Rule preflight (rules/sample.smk): ded.preflight over the workflow's own config before any GPU job of paper mode."""

import json

from ded.io import write_json
from ded.preflight import run
from ded.runtime import snakemake_job

with snakemake_job(snakemake) as log:  # noqa: F821 - injected by Snakemake
    # config.json files come from the hub cache or are fetched alone (a few KB each) from this submit host
    report = run(snakemake.config, download=True,  # noqa: F821
                 deployment=list(snakemake.params.deployment))  # noqa: F821
    for finding in report.findings:
        (log.error if finding.level == "error" else log.warning if finding.level == "warning" else log.info)(
            "%s", finding.line())
    failed = report.errors()
    if failed:
        raise RuntimeError("ded preflight failed:\n" + "\n".join(f.line() for f in failed))
    write_json(snakemake.output[0], report.to_dict())  # noqa: F821
    log.info("preflight passed: %s", json.dumps({k: v for k, v in report.to_dict().items() if k != "findings"}))
