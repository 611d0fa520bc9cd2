# DED section 4.4: why one teacher's corpus suits the student better than another's.
#   token_entropy: the student's token entropy over each analysis.entropy teacher's corpus (Figure 3)
#   pca_shift:     PCA shift of the student's representations after training (Figure 4, after Huan et al. 2025)

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


rule token_entropy:
    input:
        corpora=list(entropy_corpora().values()),
        model=model_key_input(ENTROPY.get("student", "student")),
    output:
        entropy=f"{R}/analysis/entropy.csv",
        hist=f"{R}/analysis/entropy_hist.csv",
        responses=f"{R}/analysis/entropy_responses.csv",
    log:
        f"{R}/logs/token_entropy/all.log",
    benchmark:
        f"{R}/runtime/token_entropy/all.tsv"
    params:
        entropy=ENTROPY,
        corpora=entropy_corpora(),
        model=dedcfg.model_spec(config, ENTROPY.get("student", "student")),
    resources:
        gpu=ANALYSIS_GPUS,
    conda:
        envfile("analysis")
    script:
        "../scripts/token_entropy.py"


rule pca_shift:
    input:
        benchmarks=[f"{R}/benchmarks/{b}.jsonl" for b in PCA.get("benchmarks", [])],
        models=[p for m in pca_models().values() for p in local_model_input(m["base"]) + [m["tuned"]]],
        selection=analysis_selection_input(PCA.get("experiments", [])),
    output:
        shift=f"{R}/analysis/pca_shift.csv",
        points=f"{R}/analysis/pca_points.csv",
    log:
        f"{R}/logs/pca_shift/all.log",
    benchmark:
        f"{R}/runtime/pca_shift/all.tsv"
    params:
        pca=PCA,
        models=pca_models(),
        benchmarks={b: f"{R}/benchmarks/{b}.jsonl" for b in PCA.get("benchmarks", [])},
    resources:
        gpu=ANALYSIS_GPUS,
    conda:
        envfile("analysis")
    script:
        "../scripts/pca_shift.py"
