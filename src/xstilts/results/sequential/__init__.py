"""Group-sequential seed designs: boundaries for paired t statistics at a few seeds (``design``),
a contrast's course through the looks (``outcome``), what a design does at a given difference
(``operating``), the decisions a run records (``record``) and what a study's plan costs under the
design (``planning``). The study file's table is ``xstilts.study.sequential_spec``; the looks are
run by ``xstilts.execution.looks``; docs/sequential.md explains the method."""

from xstilts.results.sequential.design import (
    DECISIONS, Boundaries, Design, boundaries, parse_looks, repeated_interval, stagewise_p,
)
from xstilts.results.sequential.operating import Operating, operating
from xstilts.results.sequential.outcome import LookTest, SequentialOutcome, analyse_sequence

__all__ = ["DECISIONS", "Boundaries", "Design", "LookTest", "Operating", "SequentialOutcome", "analyse_sequence",
           "boundaries", "operating", "parse_looks", "repeated_interval", "stagewise_p"]
