# Shared constants and input functions. Every rule file is included after this one.
# Sections below are owned by the stage named in their header; keep stage-specific get_* functions in their section.

import math
import os
import re

from ded import config as dedcfg
from ded import evaluate as dedeval
from ded import ood as dedood
from ded import sampling as ded_sampling
from ded import scheduling as dedsched
from ded.reporting import claims as dedclaims
from ded.reporting import layout as dedlayout
from ded.reporting import plan as dedplan
from ded.seeds import source_params
from ded.selection import read_chosen

# ---------------------------------------------------------------------------------------------------------------
# Config checks the JSON schema cannot express (cross references), reported with the key's path.
# ---------------------------------------------------------------------------------------------------------------
_problems = dedcfg.validate_references(config)
if _problems:
    raise ValueError("config: " + "; ".join(_problems))

R = config["results_dir"]
FIG = config["figures_dir"]
TEACHERS = list(config["teachers"])
STUDENTS = list(config["students"])
BENCHMARKS = list(config["benchmarks"])
DOMAINS = list(config["seeds"])
EXPERIMENTS = list(config["experiments"])
SELECTION = config["selection"]
JUDGE = config["filtering"].get("judge")  # the LLM-as-a-judge of unparseable math answers, or None


wildcard_constraints:
    domain="|".join(DOMAINS),
    benchmark="|".join(BENCHMARKS),
    variant="|".join(dedcfg.CORPUS_VARIANTS),
    shard=r"\d{4}",


def envfile(family):
    """The conda env of a rule family (used with --sdm conda; ignored in the tiny world's single venv)."""
    return f"../envs/{family}.yaml"


# ---------------------------------------------------------------------------------------------------------------
# Models: hub ids need no input file; local folders under results/ are built by rules (rules/models.smk).
# ---------------------------------------------------------------------------------------------------------------
def local_model_input(path):
    """[path] when the model is a folder this workflow builds, else [] (a hub id or an external folder)."""
    return [path] if str(path).startswith(f"{R}/") else []


def model_key_input(key):
    """Input files of a teacher or student by config key."""
    return local_model_input(dedcfg.model_spec(config, key)["model"])


def trained_model_dir(name):
    return f"{R}/models/{name}"


def eval_model_path(model):
    """Path or hub id of an evaluated model: base_<student> and teacher_<teacher> in place, a trained model (an
    experiment or select_<teacher>, any replicate) in R/models/."""
    parsed = dedcfg.parse_model_name(config, model)
    if parsed.kind in ("base", "teacher"):
        return dedcfg.model_spec(config, parsed.key)["model"]
    return trained_model_dir(model)


def get_eval_model_input(wildcards):
    return local_model_input(eval_model_path(wildcards.model))


# ---------------------------------------------------------------------------------------------------------------
# Preflight (the preflight job of rules/sample.smk): in paper mode every GPU rule that starts the DAG takes its report as
# input, so no GPU job is submitted before the config passed ded.preflight. The tiny world has no such job.
# ---------------------------------------------------------------------------------------------------------------
PREFLIGHT_REPORT = f"{R}/preflight/report.json"


def preflight_input():
    """ancient(): the report gates the jobs but is never a reason to rerun them (a config change reruns the preflight,
    whose newer report would otherwise make every sample and evaluation out of date)."""
    return [ancient(PREFLIGHT_REPORT)] if config["mode"] == "paper" else []


# ---------------------------------------------------------------------------------------------------------------
# Teacher selection (rules/select.smk): 'selected' resolves through the checkpoint unless config names a teacher.
# ---------------------------------------------------------------------------------------------------------------
def selected_teacher():
    if SELECTION.get("teacher"):
        return SELECTION["teacher"]
    return read_chosen(checkpoints.select_teacher.get().output.chosen)


def experiment_teacher(name):
    teacher = config["experiments"][name]["teacher"]
    return selected_teacher() if teacher == dedcfg.SELECTED else teacher


# Scheduling (ded.scheduling): the jobs teacher selection waits for first, then those on the way to question
# compression; without the order, 2 cores spent the wait on work that nothing waited for.
def job_priority(rule):
    """Rule priority, a function of the job's wildcards."""
    return lambda wildcards: dedsched.priority(config, rule, wildcards, SELECTION_RUNS)


# ---------------------------------------------------------------------------------------------------------------
# The tiny world's models (rules/models.smk)
# ---------------------------------------------------------------------------------------------------------------
def get_tiny_model_init(wildcards):
    """The tiny model a model continues from (its `init`: the shared base of the teachers), or none."""
    init = (config["tinyworld"]["models"][wildcards.name] or {}).get("init")
    return [f"{R}/tinyworld/models/{init}"] if init else []


def get_tiny_model_threads(wildcards):
    """2 for a model others continue from: nothing else is ready while it trains (the teachers wait for it), and
    torch trains the tiny model 1.5x faster on 2 threads than on 1; 1 for the others, which train side by side."""
    models = config["tinyworld"]["models"]
    return 2 if any((spec or {}).get("init") == wildcards.name for spec in models.values()) else 1


# ---------------------------------------------------------------------------------------------------------------
# Seeds and sampling shards (rules/seeds.smk, rules/sample.smk)
# ---------------------------------------------------------------------------------------------------------------
def n_shards(domain):
    """Shards of a domain's seed questions; fixed by config so that the DAG is known before sampling."""
    n = config["seeds"][domain]["n"]
    if n is None:
        raise ValueError(f"seeds.{domain}.n: must be set (the number of sampling shards derives from it)")
    return max(1, math.ceil(n / config["sampling"]["shard_size"]))


def shard_ids(domain):
    return [f"{i:04d}" for i in range(n_shards(domain))]


# ---------------------------------------------------------------------------------------------------------------
# Corpus (rules/corpus.smk)
# ---------------------------------------------------------------------------------------------------------------
# What a variant reads (pass rates, a config section, a tokenizer) is its entry in ded.corpus.registry.
from ded.corpus.registry import get_variant as get_corpus_variant


def get_experiment_corpus_inputs(wildcards):
    """The corpus variants an experiment concatenates, with 'selected' resolved."""
    exp = config["experiments"][wildcards.experiment]
    teacher = experiment_teacher(wildcards.experiment)
    return [f"{R}/corpus/{teacher}/{piece['domain']}/{piece['variant']}.jsonl" for piece in exp["data"]]


def get_corpus_variant_inputs(wildcards):
    """Only what a variant reads, so that e.g. `first` never waits for the student's pass rates."""
    variant = get_corpus_variant(wildcards.variant)
    inputs = {
        "verified": f"{R}/verified/{wildcards.teacher}/{wildcards.domain}.jsonl",
        "seeds": f"{R}/decontam/{wildcards.domain}.jsonl",
        "hits": f"{R}/decontam/{wildcards.domain}.hits.csv",
    }
    if variant.needs_pass_rates:
        inputs["passrate"] = f"{R}/passrate/{config['compression']['student']}/{wildcards.domain}.jsonl"
    if variant.uses_tokenizer(config):
        inputs["tokenizer"] = model_key_input(config["filtering"]["tokenizer_of"])
    return inputs


def get_corpus_variant_threads(wildcards):
    """The variant's threads in paper mode; 1 in the tiny world, where a variant takes about a second and a job of 2
    threads waits until both cores are free (measured: +Right-Hard-Diverse, behind a stream of 1-core jobs, started
    7 minutes after its inputs were ready, and everything trained on it with it)."""
    return 1 if config["mode"] == "tiny" else get_corpus_variant(wildcards.variant).threads


def get_corpus_variant_params(wildcards):
    """The config a variant depends on, and nothing else: changing diversity.P reruns only the variants that read
    the diversity section."""
    variant = get_corpus_variant(wildcards.variant)
    if not variant.settings_key:
        return {}
    params = {variant.settings_key: variant.settings(config)}
    if variant.uses_tokenizer(config):
        params["tokenizer"] = dedcfg.model_spec(config, config["filtering"]["tokenizer_of"])
    return params


# ---------------------------------------------------------------------------------------------------------------
# Training (rules/train.smk): model names are experiment keys and select_<teacher> (teacher selection's quick SFT).
# ---------------------------------------------------------------------------------------------------------------
REPLICATES = dedcfg.replicates(config)
SELECT_MODELS = [dedcfg.select_model_name(t) for t in TEACHERS]
# every replicate of every run: replicate r > 0 of a run is <run>.rep<r> (ded.config.replicate_name)
TRAINED_MODELS = [m for run in EXPERIMENTS + SELECT_MODELS for m in dedcfg.replicate_names(config, run)]
# teacher -> the run whose evaluation ranks it: select_<teacher>, or an experiment that is the same SFT run
SELECTION_RUNS = dedcfg.selection_runs(config)


def replicates_of(run):
    return dedcfg.replicate_names(config, run)


def is_select_model(model):
    return dedcfg.parse_model_name(config, model).kind == "select"


def train_student(model):
    """Student key a trained model starts from."""
    return dedcfg.model_student(config, model)


def train_params(model):
    return dedcfg.run_training_params(config, model)


def get_train_corpus(wildcards):
    parsed = dedcfg.parse_model_name(config, wildcards.model)
    if parsed.kind == "select":
        return f"{R}/corpus/{parsed.key}/{SELECTION['domain']}/first.jsonl"
    return f"{R}/corpus/experiments/{parsed.key}.jsonl"


def get_train_base_model(wildcards):
    return model_key_input(train_student(wildcards.model))


def get_train_deepspeed(wildcards):
    ds = train_params(wildcards.model).get("deepspeed")
    return [ds] if ds else []


# ---------------------------------------------------------------------------------------------------------------
# Evaluation (rules/evaluate.smk)
# ---------------------------------------------------------------------------------------------------------------
def experiment_benchmarks(name):
    return dedcfg.experiment_benchmarks(config, name)


def eval_summary(model):
    return f"{R}/eval/{model}/summary.csv"


def base_students():
    """Students that some experiment trains (each is evaluated untrained as base_<student>)."""
    return list(dict.fromkeys(config["experiments"][e]["student"] for e in EXPERIMENTS))


def base_benchmarks(student):
    """Every benchmark that an experiment of this student is evaluated on, in config order."""
    used = {b for e in EXPERIMENTS if config["experiments"][e]["student"] == student for b in experiment_benchmarks(e)}
    return [b for b in BENCHMARKS if b in used]


def model_benchmarks(model):
    """The benchmarks one evaluation job runs a model on: its experiment's, the selection's (select_<teacher>, and
    teacher_<teacher>: the teachers' own scores), or (base_<student>) the union of its experiments'."""
    parsed = dedcfg.parse_model_name(config, model)
    if parsed.kind in ("select", "teacher"):
        return list(SELECTION["benchmarks"])
    if parsed.kind == "experiment":
        return experiment_benchmarks(parsed.key)
    if parsed.key in base_students():
        return base_benchmarks(parsed.key)
    raise ValueError(f"evaluation: base model {model!r} of a student that no experiment trains")


def get_eval_benchmarks(wildcards):
    return [f"{R}/benchmarks/{b}.jsonl" for b in model_benchmarks(wildcards.model)]


def base_models():
    """base_<student> of every student that an experiment trains, every replicate (each its own evaluation seeds)."""
    return [m for s in base_students() for m in replicates_of(dedcfg.base_model_name(s))]


def teacher_models():
    """teacher_<teacher>: each candidate teacher evaluated as itself on the selection benchmarks (one replicate:
    the teacher does not change between replicates)."""
    return [dedcfg.teacher_model_name(t) for t in TEACHERS]


def all_eval_summaries():
    """R/eval/{model}/summary.csv of every replicate of every experiment and base student, and of every teacher
    (not select_* models: those belong to teacher selection)."""
    models = [m for e in EXPERIMENTS for m in replicates_of(e)] + base_models() + teacher_models()
    return [eval_summary(m) for m in models]


def ood_models():
    """Models of the OOD suite (Table 6): experiments that feed table6 and their base students, every replicate."""
    exps = [e for e in EXPERIMENTS if "table6" in (config["experiments"][e].get("feeds") or [])]
    bases = dict.fromkeys(dedcfg.base_model_name(config["experiments"][e]["student"]) for e in exps)
    return [m for run in [*bases, *exps] for m in replicates_of(run)]


def all_ood_outputs():
    return [f"{R}/eval/{m}/ood.csv" for m in ood_models()]


# ---------------------------------------------------------------------------------------------------------------
# Final targets
# ---------------------------------------------------------------------------------------------------------------
FIGURES = ["figure1_scaling", "figure3_entropy", "figure4_pca_shift"]
TABLES = [f"table{i}" for i in range(1, 8)]


def compression_outputs():
    """The student's pass rates of each domain that a hard corpus variant uses. They depend on no teacher, so as
    targets of their own they are computed while teacher selection runs, not after it."""
    domains = {
        piece["domain"]
        for exp in config["experiments"].values()
        for piece in exp["data"]
        if get_corpus_variant(piece["variant"]).needs_pass_rates
    }
    return [f"{R}/passrate/{config['compression']['student']}/{d}.jsonl" for d in DOMAINS if d in domains]


def get_final_outputs():
    outs = compression_outputs()
    for fig in FIGURES:
        outs += [f"{FIG}/{fig}.pdf", f"{FIG}/{fig}.png"]
    outs += [f"{R}/tables/{t}.tex" for t in TABLES]
    outs += [f"{R}/tables/paper/{t}.tex" for t in TABLES]
    outs += [f"{R}/tables/claims.tex", f"{R}/tables/claims.csv"]
    if config["mode"] == "paper":
        # absolute differences from the paper's numbers: meaningful for the paper's models only (the tiny world's
        # comparison with the paper is the claims table; the rule still runs when its file is asked for)
        outs.append(f"{R}/tables/reproduction_vs_paper.tex")
    outs += [f"{R}/provenance/summaries/{t}.txt" for t in FIGURES + TABLES + ["claims"]]
    return outs


def provenance_target_path(target):
    """The figure or table a provenance summary describes."""
    if target in FIGURES:
        return f"{FIG}/{target}.pdf"
    if target in TABLES or target == "claims":
        return f"{R}/tables/{target}.tex"
    raise ValueError(f"provenance summary: unknown target {target!r} (figures: {FIGURES}; tables: {TABLES})")


# ---------------------------------------------------------------------------------------------------------------
# Seeds and benchmarks (rules/seeds.smk)
# ---------------------------------------------------------------------------------------------------------------
def seed_source_params(section, name):
    return source_params(dict(config[section][name]))


# ---------------------------------------------------------------------------------------------------------------
# Sampling (rules/sample.smk)
# ---------------------------------------------------------------------------------------------------------------
def is_teacher(model):
    return model in config["teachers"]


def samples_per_question(model):
    return config["sampling"]["trajectories"] if is_teacher(model) else config["compression"]["k"]


def sample_params(model):
    stage = config["sampling"]["params"] if is_teacher(model) else config["compression"]["params"]
    return dedcfg.sampling_params(config, stage, dedcfg.model_spec(config, model))


def sample_gpus(model):
    return dedcfg.model_gpus(dedcfg.model_spec(config, model))


def sample_threads(model):
    """vLLM runs a worker process per GPU plus tokenisation; transformers on CPU and HTTP clients need one core."""
    return 4 * sample_gpus(model) if sample_gpus(model) else 1


# Slurm allocation of a shard: 12 cores and 64 GB of host memory per GPU (an 8xH800 node's share), and a small CPU
# job for a teacher served over HTTP (its client is threads waiting on the network).
def sample_cpus(model):
    return 12 * sample_gpus(model) if sample_gpus(model) else 2


def sample_mem_mb(model):
    return 64000 * sample_gpus(model) if sample_gpus(model) else 8000


SAMPLED_MODELS = TEACHERS + [s for s in STUDENTS if s not in TEACHERS]


# ---------------------------------------------------------------------------------------------------------------
# Evaluation (rules/evaluate.smk)
# ---------------------------------------------------------------------------------------------------------------
EVAL_MODELS = (
    TRAINED_MODELS + [m for s in STUDENTS for m in replicates_of(dedcfg.base_model_name(s))] + teacher_models()
)


def eval_settings(wildcards):
    """Bootstrap settings and the sampling seed of this model's replicate (replicates sample with their own)."""
    replicate = dedcfg.parse_model_name(config, wildcards.model).replicate
    ev = config["evaluation"]
    return {"bootstrap": ev["bootstrap"], "seed": dedcfg.replicate_seed(ev["seed"], replicate)}


OOD_LOCAL_TASKS = [t for t in config["ood"]["tasks"] if t in dedood.local_tasks()]


def eval_spec(wildcards):
    return dedeval.eval_model_spec(config, wildcards.model, R)


def ood_data_files(wildcards):
    return {t: f"{R}/ood/{t}.jsonl" for t in OOD_LOCAL_TASKS}


def ood_gpus(wc):
    ood = config["ood"]
    if ood["backend"] == "vllm":
        return int(ood.get("tensor_parallel_size") or 1)
    return 0 if config["mode"] == "tiny" else 1


# ---------------------------------------------------------------------------------------------------------------
# Analysis (rules/analysis.smk)
# ---------------------------------------------------------------------------------------------------------------
REFERENCE = "config/reference"  # the paper's numbers (facts, not results): see config/reference/README.md


ANALYSIS = config.get("analysis") or {}


ENTROPY = ANALYSIS.get("entropy") or {}


PCA = ANALYSIS.get("pca") or {}


# a 32B model in bfloat16 with room for 16k-token activations and a logits chunk: two GPUs (none in the tiny world)
ANALYSIS_GPUS = 0 if config["mode"] == "tiny" else 2


def entropy_corpora():
    domain, variant = ENTROPY.get("domain", "math"), ENTROPY.get("variant", "first")
    return {t: f"{R}/corpus/{t}/{domain}/{variant}.jsonl" for t in ENTROPY.get("teachers", [])}


def analysis_selection_input(experiments):
    """The selection result, when an analysed experiment's teacher is 'selected' and config names none."""
    if SELECTION.get("teacher"):
        return []
    if any(config["experiments"][e]["teacher"] == dedcfg.SELECTED for e in experiments):
        return [f"{R}/selection/chosen.json"]
    return []


def pca_models():
    """Each analysed experiment's base (the untrained student) and fine-tuned model."""
    out = {}
    for name in PCA.get("experiments", []):
        exp = config["experiments"][name]
        spec = config["students"][exp["student"]]
        out[name] = {
            "teacher": exp["teacher"],
            "student": exp["student"],
            "base": eval_model_path(dedcfg.base_model_name(exp["student"])),
            "base_revision": spec.get("revision"),
            "tokenizer": spec.get("tokenizer"),
            "tuned": trained_model_dir(name),
        }
    return out


# ---------------------------------------------------------------------------------------------------------------
# Figures (rules/figures.smk)
# ---------------------------------------------------------------------------------------------------------------
def figure1_plan(wildcards):
    return dedplan.figure1_rows(config, R)


def get_figure1_inputs(wildcards):
    files = dedplan.row_files(figure1_plan(wildcards))
    return {
        "summaries": files["summaries"],
        "stats": files["stats"],
        "selection": [f"{R}/selection/chosen.json"] if dedplan.needs_selection(config, ["figure1"]) else [],
    }


# ---------------------------------------------------------------------------------------------------------------
# Tables and claims (rules/tables.smk)
# ---------------------------------------------------------------------------------------------------------------
def selection_input(tables):
    """chosen.json when a row of these tables is of the 'selected' teacher (its label names the chosen one)."""
    return [f"{R}/selection/chosen.json"] if dedplan.needs_selection(config, tables) else []


def table_plan(wildcards):
    return dedplan.table_rows(config, wildcards.table, R)


def table_input(wildcards):
    files = dedplan.row_files(table_plan(wildcards))
    files["reference"] = [f"{REFERENCE}/{dedlayout.REFERENCE_FILES[wildcards.table]}"]
    files["selection"] = selection_input([wildcards.table])
    return files


CLAIM_FIRST_RUNS = dedclaims.claim_first_runs(config)


CLAIM_FILES = dedclaims.claim_inputs(config, R, CLAIM_FIRST_RUNS)


def claims_input(wildcards):
    files = {
        "samples": [p for paths in CLAIM_FILES["samples"].values() for p in paths],
        "ood": [p for paths in CLAIM_FILES["ood"].values() for p in paths],
        "stats": list(CLAIM_FILES["stats"].values()),
        "teacher_summaries": list(CLAIM_FILES["teacher_summaries"].values()),
        "entropy": [CLAIM_FILES["entropy"]] if CLAIM_FILES["entropy"] else [],
        "selection": [CLAIM_FILES["chosen"]] if CLAIM_FILES["chosen"] else [],
        "reference": [f"{REFERENCE}/{f}" for f in dedclaims.reference_files(config)],
    }
    return files


def reference_dir(wildcards, input):
    """The folder of the paper's reference CSVs, from the job's own inputs."""
    return os.path.dirname(input.reference[0]) if input.reference else REFERENCE


# ---------------------------------------------------------------------------------------------------------------
# Provenance summaries (rules/provenance.smk)
# ---------------------------------------------------------------------------------------------------------------
def provenance_results_dir(wildcards, output):
    """R, from the summary's own path (R/provenance/summaries/<target>.txt)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(output[0])))
