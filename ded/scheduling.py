"""Job priorities for Snakemake's scheduler: which of the ready jobs runs first.

On a few cores the order decides the wall time. Every experiment of the `selected` teacher waits for teacher
selection, so the jobs on its way (the candidate teachers' samples of selection.domain, their verification and
first-response corpora, the selection runs' SFT and evaluation) go first. Next come the jobs on the way to question
compression (the compression student's samples, pass rates, the variants that read them and the runs trained on
those), because the longest chains of the DAG end there (the +Right-Hard-Diverse runs evaluate on every benchmark,
and the mixed run waits for both domains' compressed corpora); the single-job experiments (first, right, longest,
shortest) then fill the cores at the end instead of leaving one chain to run alone. Measured on the tiny world with
2 cores: without the compression priority the last 70 s ran one job on one core. Among the remaining jobs, those
that head longer chains go first: the sampling and verification of every other teacher and domain (each heads a
corpus, an SFT run and an evaluation; the verbose teacher's code, Table 4's first run, last to start, left one job
running for the last 60 s), then the SFT runs and the corpora they read, then the evaluations, tables and figures,
so that the run ends on evaluations, which are independent and fill both cores, not on an SFT run and the
evaluation that waits for it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ded import config as dedcfg
from ded.corpus.registry import VARIANTS

SELECTION_PATH = 10
COMPRESSION_PATH = 5
SAMPLING = 2
TRAINING = 1

# rules whose wildcards name a model run (an experiment, select_<teacher>, their replicates)
RUN_RULES = ("experiment_corpus", "llamafactory_dataset", "train_config", "train", "evaluate")
# the rules between a verified sample file and a trained model
TRAINING_RULES = ("corpus_variant", "experiment_corpus", "llamafactory_dataset", "train_config", "train")
# rules whose wildcards name a sampled model and a domain
SAMPLE_RULES = ("sample_shard", "merge_samples", "verify")


def priority(config: dict, rule: str, wildcards: Mapping[str, str], selection_runs: Mapping[str, str]) -> int:
    """The priority of `rule`'s job with these wildcards: SELECTION_PATH, COMPRESSION_PATH, SAMPLING, TRAINING or 0."""
    selecting = not config["selection"].get("teacher")
    if selecting and on_selection_path(config, rule, wildcards, selection_runs):
        return SELECTION_PATH
    if on_compression_path(config, rule, wildcards):
        return COMPRESSION_PATH
    if rule in SAMPLE_RULES:
        return SAMPLING
    return TRAINING if rule in TRAINING_RULES else 0


def on_selection_path(config: dict, rule: str, wildcards: Mapping[str, str], selection_runs: Mapping[str, str]) -> bool:
    sel = config["selection"]
    if rule in RUN_RULES:
        return dedcfg.run_of(wildcards.get("model") or wildcards.get("experiment") or "") in selection_runs.values()
    if rule == "train_template_check":
        return wildcards.get("student") == sel["student"]
    if rule in SAMPLE_RULES:
        return wildcards.get("model") in config["teachers"] and wildcards.get("domain") == sel["domain"]
    if rule == "corpus_variant":
        return (wildcards.get("teacher") in config["teachers"] and wildcards.get("domain") == sel["domain"]
                and wildcards.get("variant") == "first")
    return False


def on_compression_path(config: dict, rule: str, wildcards: Mapping[str, str]) -> bool:
    if rule == "passrate":
        return True
    if rule in SAMPLE_RULES:
        return wildcards.get("model") == config["compression"]["student"]
    if rule == "corpus_variant":
        variant = VARIANTS.get(wildcards.get("variant", ""))
        return bool(variant and variant.needs_pass_rates)
    if rule in RUN_RULES:
        run = dedcfg.run_of(wildcards.get("model") or wildcards.get("experiment") or "")
        experiment = config.get("experiments", {}).get(run)
        return bool(experiment) and any(VARIANTS[piece["variant"]].needs_pass_rates for piece in experiment["data"])
    return False
