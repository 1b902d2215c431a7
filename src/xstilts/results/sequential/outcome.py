"""One contrast through a sequential design: its paired t-test at each look, the decision, and the
numbers that are valid after stopping (``design``: the stage-wise p and the repeated interval).

The per-seed differences come in the design's seed order (a study's ``seeds``; for a file, the
seed numbers ascending): look k reads the first ``looks[k]`` of them and is made only when all of
them are there. The first look that decides is where the contrast stops; later seeds (trained for
another contrast that shares a condition) never change its decision.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from xstilts.results.outliers import outlying_below
from xstilts.results.sequential.design import Boundaries, repeated_interval, stagewise_p
from xstilts.results.statistics import ContrastResult, PairedTest, paired_t


@dataclass(frozen=True)
class LookTest:
    """The paired t-test of one contrast at one look."""

    look: int  # index into the design's looks
    seeds: tuple[int, ...]
    test: PairedTest
    decision: str
    reason: str

    @property
    def t(self) -> float | None:
        test = self.test
        return None if test.se is None or test.se == 0 else test.mean_difference / test.se


@dataclass(frozen=True)
class SequentialOutcome:
    """Where a contrast stands: ``decision`` ("effect" | "no effect" | "continue") at ``look`` (the
    deciding look, or the last one made; -1: none made yet), with the numbers valid under the
    design: ``stagewise_p`` (one contrast) and ``adjusted_p`` (x the family's contrasts, at most 1),
    both None while it continues, and ``interval``, the repeated confidence interval at that look
    (level ``interval_level`` = 1 - alpha / contrasts)."""

    decision: str
    reason: str
    look: int
    looks: tuple[LookTest, ...]  # every look made, in order
    bounds: Boundaries
    interval: tuple[float, float] | None

    @functools.cached_property
    def stagewise_p(self) -> float | None:
        if self.decision == "continue" or not self.looks:
            return None
        t = self.looks[-1].t
        return stagewise_p(self.bounds, self.look, t) if t is not None and math.isfinite(t) else 1.0

    @property
    def adjusted_p(self) -> float | None:
        p = self.stagewise_p
        return None if p is None else min(1.0, p * self.bounds.design.contrasts)

    @property
    def seeds(self) -> int:
        """Seeds at the deciding (or last made) look."""
        return self.bounds.design.looks[self.look] if self.look >= 0 else 0

    @property
    def max_seeds(self) -> int:
        return self.bounds.design.max_seeds

    @property
    def next_seeds(self) -> int | None:
        """While it continues: the seeds of the next look."""
        if self.decision != "continue":
            return None
        return self.bounds.design.looks[self.look + 1] if self.look + 1 < len(self.bounds.design.looks) else None

    @property
    def interval_level(self) -> float:
        return 1 - self.bounds.design.alpha_each

    @property
    def last(self) -> LookTest | None:
        return self.looks[-1] if self.looks else None

    @property
    def efficacy_bound(self) -> float | None:
        return self.bounds.efficacy[self.look] if self.look >= 0 else None

    @property
    def futility_bound(self) -> float | None:
        return self.bounds.futility[self.look] if self.look >= 0 else None

    def where(self) -> str:
        """"decided after 5 of at most 8 seeds" / "undecided after 3 seeds (next look: 5)"."""
        if self.decision == "continue":
            after = f"after {self.seeds} seeds" if self.look >= 0 else "before its first look"
            nxt = f" (next look: {self.next_seeds} seeds)" if self.next_seeds else ""
            return f"undecided {after}{nxt}"
        return f"decided after {self.seeds} of at most {self.max_seeds} seeds"


def test_at(differences: Mapping[int, float], seeds: Sequence[int]) -> PairedTest | None:
    """The paired t-test over ``seeds`` (all of them needed), None when one is missing."""
    if any(seed not in differences for seed in seeds):
        return None
    return paired_t([differences[seed] for seed in seeds])


Runs = Mapping[int, tuple[float, float]]  # per seed: the run's score of A and of B


def outlying_seeds(runs: Runs, seeds: Sequence[int]) -> set[int]:
    """The seeds among ``seeds`` whose run of A or of B is far below its condition's other runs
    (``results.outliers``: a collapsed run)."""
    found: set[int] = set()
    present = [seed for seed in seeds if seed in runs]
    for side in (0, 1):
        values = np.array([runs[seed][side] for seed in present], dtype=float)
        threshold = outlying_below(values)
        if threshold is not None:
            found.update(seed for seed, value in zip(present, values) if value < threshold)
    return found


def decide_look(bounds: Boundaries, look: int, differences: Mapping[int, float], seeds: Sequence[int],
                runs: Runs | None = None) -> tuple[PairedTest | None, float | None, str | None, str]:
    """(test, t, decision, reason) of one contrast at ``look`` over ``seeds`` (decision None: a
    seed is missing). With ``runs``, futility is judged without the seeds whose run is outlying,
    against the futility bound for the seeds left: one collapsed run drives |t| towards 1 whatever
    the difference, stopping real differences and keeping null ones. Futility is non-binding, so
    how it is judged never changes the error rate; the effect decision reads every seed."""
    test = test_at(differences, seeds)
    if test is None:
        return None, None, None, f"no paired result for seed(s) {sorted(set(seeds) - set(differences))}"
    t = None if test.se is None or test.se == 0 else test.mean_difference / test.se
    decision, reason = bounds.decide(look, t)
    if decision == "effect" or look == len(bounds.design.looks) - 1 or not bounds.design.futility or runs is None:
        return test, t, decision, reason
    flagged = outlying_seeds(runs, seeds)
    if flagged:
        kept = [seed for seed in seeds if seed not in flagged]
        reduced = test_at(differences, kept) if len(kept) >= 2 else None
        t_kept = None if reduced is None or not reduced.se else reduced.mean_difference / reduced.se
        if t_kept is not None and abs(t_kept) < bounds.futility_at(look, len(kept)):
            decision, reason = "no effect", "futility boundary, without the outlying runs"
        else:
            decision, reason = "continue", "futility judged without the outlying runs"
    return test, t, decision, reason


def analyse_sequence(differences: Mapping[int, float], seed_order: Sequence[int], bounds: Boundaries,
                     decided: Mapping[int, str] | None = None, up_to: int | None = None,
                     runs: Runs | None = None) -> SequentialOutcome:
    """The contrast's course through the design. ``differences``: per seed, A - B (the primary
    contrast's per-seed difference); ``seed_order``: the design's seeds in order (at least the
    maximum); ``runs``: per seed, A's and B's scores (for ``decide_look``'s outlying runs).
    ``decided`` (look -> decision), when given, is what a run already recorded: those looks keep
    their decisions. ``up_to``: analyse no look after this one."""
    design = bounds.design
    made: list[LookTest] = []
    last_look = len(design.looks) - 1 if up_to is None else min(up_to, len(design.looks) - 1)
    for k in range(last_look + 1):
        seeds = tuple(seed_order[:design.looks[k]])
        if len(seeds) < design.looks[k]:
            break
        test, t, decision, reason = decide_look(bounds, k, differences, seeds, runs)
        if test is None:
            break
        if decided and k in decided and decided[k] != decision:  # the run's decision stands
            decision, reason = decided[k], f"recorded (the rows now say {decision})"
        made.append(LookTest(k, seeds, test, decision, reason))
        if decision != "continue":
            break
    if not made:
        return SequentialOutcome("continue", "no look made yet", -1, (), bounds, None)
    final = made[-1]
    interval = repeated_interval(bounds, final.look, final.test.mean_difference, final.test.se)
    return SequentialOutcome(final.decision, final.reason, final.look, tuple(made), bounds, interval)


def with_outcome(contrast: ContrastResult, outcome: SequentialOutcome) -> ContrastResult:
    """The primary contrast as the design reports it: the Bonferroni-adjusted stage-wise p and the
    repeated confidence interval at the look where it stopped (or the last look made)."""
    return replace(contrast, adjusted_p=outcome.adjusted_p, family_size=outcome.bounds.design.contrasts,
                   interval_level=outcome.interval_level, interval=outcome.interval, sequential=outcome)


def outcome_record(outcome: SequentialOutcome) -> dict:
    """The outcome's numbers as JSON values (``stats contrast --json``)."""
    low, high = outcome.interval or (None, None)
    last = outcome.last
    design = outcome.bounds.design
    return {
        "decision": outcome.decision, "reason": outcome.reason, "where": outcome.where(),
        "look": outcome.look + 1 if outcome.look >= 0 else None, "seeds": outcome.seeds,
        "max_seeds": outcome.max_seeds, "next_look_seeds": outcome.next_seeds,
        "t": last.t if last is not None else None, "efficacy_bound": outcome.efficacy_bound,
        "futility_bound": outcome.futility_bound, "stagewise_p": outcome.stagewise_p,
        "adjusted_p": outcome.adjusted_p, "repeated_ci_low": low, "repeated_ci_high": high,
        "repeated_ci_level": outcome.interval_level, "looks": list(design.looks), "contrasts": design.contrasts,
        "alpha": design.alpha, "design": design.describe(),
    }
