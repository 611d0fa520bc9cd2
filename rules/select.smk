# DED stage 1: teacher selection. Each candidate teacher's first-response corpus trains the selection student
# (model select_<teacher>, rules/train.smk, or an experiment that is the same SFT run: SELECTION_RUNS); the
# evaluations of those models on selection.benchmarks rank the teachers (ded.selection: mean pass@1, ties to the
# teacher listed first in config 'teachers').
# selected_teacher() in rules/common.smk reads chosen.json unless selection.teacher names one.


# Ranking teachers reads a few CSVs: on the submit host.
localrules:
    select_teacher,


checkpoint select_teacher:
    input:
        [eval_summary(m) for t in TEACHERS for m in replicates_of(SELECTION_RUNS[t])],
    output:
        ranking=f"{R}/selection/ranking.csv",
        chosen=f"{R}/selection/chosen.json",
    log:
        f"{R}/logs/select_teacher/select_teacher.log",
    benchmark:
        f"{R}/runtime/select_teacher/select_teacher.tsv"
    conda:
        envfile("data")
    params:
        runs=SELECTION_RUNS,
        benchmarks=SELECTION["benchmarks"],
    script:
        "../scripts/select_teacher.py"
