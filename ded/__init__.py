"""DED: a data-efficient distillation framework for reasoning, as a Snakemake workflow.

The package holds the logic; Snakemake rules (rules/*.smk) call thin entry points in scripts/.
"""

__version__ = "0.1.0"
