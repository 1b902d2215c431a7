"""The study file's ``[sequential]`` table: a group-sequential seed design.

    seeds = [1, 2, 3, 4, 5, 6, 7, 8]
    [sequential]
    looks = [3, 5, 8]          # analyse after the first 3, 5 and 8 seeds (the last = len(seeds))

Which nodes each look runs: ``study.sequential``; boundaries and decisions:
``xstilts.results.sequential``; the defaults are measured in benchmarks/sequential_calibration.py
and explained in docs/sequential.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Spending = Literal["kim-demets", "obrien-fleming", "pocock"]
SPENDINGS: tuple[str, ...] = ("kim-demets", "obrien-fleming", "pocock")
# The defaults, measured in benchmarks/sequential_calibration.py.
DEFAULT_ALPHA = 0.05
DEFAULT_SPENDING = "kim-demets"
DEFAULT_RHO = 3.0
DEFAULT_FUTILITY_BETA = 0.185


class SequentialSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    looks: list[int] = Field(min_length=2, description="Seeds analysed at each look (cumulative, increasing; the "
                                                       "last is the number of seeds listed in seeds).")
    spending: Spending = Field(DEFAULT_SPENDING, description="How the error is spent over the looks: kim-demets "
                                                             "(alpha t^rho), obrien-fleming or pocock (Lan-DeMets).")
    rho: float = Field(DEFAULT_RHO, gt=0, description="kim-demets' exponent (3: close to O'Brien-Fleming).")
    futility: bool = Field(True, description="Stop a contrast early for no effect (non-binding).")
    futility_beta: float = Field(DEFAULT_FUTILITY_BETA, gt=0, lt=0.5, description="The chance that a contrast with "
                                 "the design effect stops for futility at some interim look.")
    alpha: float = Field(DEFAULT_ALPHA, gt=0, lt=0.5, description="Family-wise error over the primary contrasts.")
    sd: float | None = Field(None, gt=0, description="The SD of per-seed differences you expect (metric points, "
                                                     "e.g. from a pilot): plan then states the expected trainings at "
                                                     "[report] effect.")

    @field_validator("looks")
    @classmethod
    def _increasing(cls, looks: list[int]) -> list[int]:
        if looks[0] < 2:
            raise ValueError(f"the first look needs at least 2 seeds (a paired t-test), got {looks[0]}")
        if any(b <= a for a, b in zip(looks, looks[1:])):
            raise ValueError(f"looks are cumulative seed counts and must increase, got {looks}")
        return looks


