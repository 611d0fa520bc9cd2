"""DED stage 7's tables and claims, one module a concern:

- layout:     what each of the paper's tables shows (reference file, caption, benchmarks, columns)
- model:      the table model (Column, Row, Table; Decimal cells that keep the paper's printed precision)
- plan:       which files a table, figure or claim reads, from the config (rules call it; jobs never compose paths)
- readers:    evaluation summaries and samples, OOD results, corpus stats, per-response entropies
- labels:     row labels and roles (a row's place in the paper's table)
- latex:      booktabs rendering
- run_tables: this run's Tables 1-7
- paper:      the paper's own tables through the same generator, and this run beside them
- claims:     the paper's claims checked on this run with paired intervals (ded.stats)
"""
