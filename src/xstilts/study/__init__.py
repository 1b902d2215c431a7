"""Studies: one file describing a stage-order study -> a plan of shared trainings and evaluations.

- ``spec``: the study file's schema (pydantic); ``load``: reading and checking a file.
- ``orders``: helpers (permutations, singles, baseline, mixed) expanded into named orders.
- ``plan``: the tree of TrainNodes (content-hashed, shared prefixes) and EvalNodes.
- ``contamination``: flags evaluation cells whose rows some training on the path read.
- ``data_facts``, ``hashing``, ``file_cache``: file hashes and example counts, cached.
- ``cost``: steps, seconds and disk estimates; ``summary``: the plan as JSON (``plan --json``);
  ``render``: the plan as a rich tree.
- ``run_guard``: the same contamination guard for ``xstilts evaluate`` on a run directory.
"""

from xstilts.study.load import load_study
from xstilts.study.plan import EvalNode, Plan, StageTask, TrainNode, build_plan
from xstilts.study.render import render_plan
from xstilts.study.spec import StudySpec
from xstilts.study.summary import plan_summary

__all__ = ["EvalNode", "Plan", "StageTask", "StudySpec", "TrainNode", "build_plan", "load_study", "plan_summary",
           "render_plan"]
