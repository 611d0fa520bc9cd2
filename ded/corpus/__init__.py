"""The corpus stage: decontamination, question compression (pass rates), diverse trajectories, corpus variants and
experiment corpora (rules/corpus.smk).

Modules: `decontam` (seed vs benchmark n-grams), `passrate` (student pass rate, hard questions), `diversity`
(Levenshtein farthest-point selection), `variants` (first / right / right_hard / right_hard_diverse / longest /
shortest), `experiment` (concatenation with limits), `stats` (corpus summary), `records` (validated readers).
"""
