# DED: Data-Efficient Distillation for reasoning, end to end.
#   snakemake --cores 2                                       the embedded tiny world (config/config.yaml)
#   snakemake --profile slurm --configfile config/paper.yaml  the paper's grid on 8xH800 nodes
# ARCHITECTURE.md maps each DED stage to its rule file, module, inputs and outputs.

from snakemake.utils import min_version, validate

min_version("9.19")

# --configfile replaces the embedded default instead of being merged into it: the paper config must not inherit
# the tiny world's teachers and experiments.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


# First without defaults, so that a wrong type fails with the schema's message instead of inside default-filling;
# then again to fill the defaults.
validate(config, "config/schema.yaml", set_default=False)
validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/models.smk"
include: "rules/seeds.smk"
include: "rules/sample.smk"
include: "rules/verify.smk"
include: "rules/corpus.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/select.smk"
include: "rules/analysis.smk"
include: "rules/figures.smk"
include: "rules/tables.smk"
include: "rules/provenance.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
