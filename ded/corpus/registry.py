"""The corpus variants, declared once: which responses of a question each keeps and what it reads to choose them.

| variant | rows per question | questions |
|---|---|---|
| first | the response with sample_index 0, unchecked (the paper's Table 1 / "R1 corpus" / "QwQ corpus") | all |
| right | the first passing response (lowest sample index) | those with a passing response |
| right_hard | as right | ... whose student pass rate is at or under compression.threshold |
| right_hard_diverse | the P passing responses farthest apart (ded.corpus.diversity), all when fewer | as right_hard |
| longest / shortest | the passing response with the most / fewest tokens (ties: lowest sample index) | as right |

Longest and shortest choose among *passing* responses so that Table 7 varies only length: over all responses the
longest would mostly be truncated at the token limit (failing the length check) and the shortest would favour
answers that gave up early, so the comparison would measure correctness, not length.

Everything that depends on a variant reads its entry here: the rule's inputs (pass rates, a tokenizer), its params
(the config section it reads, so that changing diversity.P reruns only the variants that read `diversity`) and its
threads (rules/common.smk, rules/corpus.smk), the variant names (ded.config.CORPUS_VARIANTS; config/schema.yaml's
enum, which a test compares with this table) and the builder (ded.corpus.variants). A new variant is one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ded.corpus import diversity
from ded.io import DataError

# (samples, settings, *, encode, workers) -> the chosen samples, in sample order. A checked variant's selector gets
# the passing responses of a question (sorted by sample index, at least one), an unchecked one all its responses;
# settings is the variant's config section after its check, encode the token encoder when it needs one, workers the
# job's threads. A DataError it raises is reported with the file and the question.
Selector = Callable[..., list]


@dataclass(frozen=True)
class Variant:
    name: str
    select: Selector
    checked: bool = True  # False: keeps responses whatever their verdicts (counted in the stats' `failing`)
    needs_pass_rates: bool = False  # keeps only the questions the compression student finds hard
    settings_key: str | None = None  # the config section the selector reads
    # settings -> the settings as recorded in the stats; raises ValueError naming the config key when invalid
    check_settings: Callable[[dict], dict] | None = None
    # settings -> whether the selector needs a token encoder (the tokenizer of filtering.tokenizer_of)
    needs_tokenizer: Callable[[dict], bool] = lambda settings: False  # noqa: E731 (most variants need none)
    threads: int = 1  # Snakemake lowers it to --cores when fewer

    def settings(self, config: dict) -> dict:
        """The config section this variant reads ({} when none)."""
        return dict(config.get(self.settings_key) or {}) if self.settings_key else {}

    def uses_tokenizer(self, config: dict) -> bool:
        return self.needs_tokenizer(self.settings(config))


def _sample_index_zero(samples, settings, **_) -> list:
    first = [s for s in samples if s.sample_index == 0]
    if not first:
        raise DataError("no sample_index 0")
    return first


def _lowest_index(passing, settings, **_) -> list:
    return [passing[0]]


def _most_tokens(passing, settings, **_) -> list:
    return [max(passing, key=lambda s: (s.num_tokens, -s.sample_index))]


def _fewest_tokens(passing, settings, **_) -> list:
    return [min(passing, key=lambda s: (s.num_tokens, s.sample_index))]


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("first", _sample_index_zero, checked=False),
    Variant("right", _lowest_index),
    Variant("right_hard", _lowest_index, needs_pass_rates=True),
    # the distance matrix is computed multi-threaded (rapidfuzz)
    Variant("right_hard_diverse", diversity.select_responses, needs_pass_rates=True, settings_key="diversity",
            check_settings=diversity.check_settings, needs_tokenizer=diversity.needs_tokenizer, threads=8),
    Variant("longest", _most_tokens),
    Variant("shortest", _fewest_tokens),
)}


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"corpus variant {name!r}: expected one of {', '.join(VARIANTS)}") from None
