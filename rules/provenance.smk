# Provenance summaries for the Snakemake report: one page per figure and table, from the records that every job
# writes (ded.provenance) and the audit of its whole lineage (ded.audit).


# Summaries read records and hash files: on the submit host.
localrules:
    provenance_summary,


rule provenance_summary:
    input:
        lambda wc: provenance_target_path(wc.target),
    output:
        report(
            f"{R}/provenance/summaries/{{target}}.txt",
            caption="../report/provenance.rst",
            category="Provenance",
            labels=lambda wc: {"output": wc.target},
        ),
    log:
        f"{R}/logs/provenance_summary/{{target}}.log",
    conda:
        envfile("data")
    params:
        results_dir=provenance_results_dir,
    script:
        "../scripts/provenance_summary.py"
