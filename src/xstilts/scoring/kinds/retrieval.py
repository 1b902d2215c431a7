"""Retrieval straight from the encoder. BUCC: ``source id<TAB>target id`` pairs, scored by F1;
Tatoeba: per English sentence the index of the retrieved sentence, scored by accuracy; ranked
retrieval from a pool (LAReQA, Mewsli-X): ``{query id: [ids, best first]}`` JSON, scored by mAP@20.

The gold is the task's data file (BUCC ``LANG-en.SPLIT.LANG`` with its ``.gold`` twin; Tatoeba
``tatoeba.LLL-eng.LLL``, line-aligned) or XTREME's label file (id pairs; one index per line).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from xstilts.errors import DataFormatError, MissingDataError
from xstilts.metrics import per_example, predictions, retrieval
from xstilts.metrics.registry import scoring_rule
from xstilts.scoring.kinds.base import KindScorer
from xstilts.tasks.load import placeholder_values
from xstilts.tasks.types import Example, RetrievalSet, TaskKind, TaskSpec


def _mines_pairs(task: TaskSpec) -> bool:
    """BUCC predicts sentence pairs; Tatoeba one retrieved index per English sentence."""
    return task.facts.protocol(task.metric) == "bitext_mining"


def _ranks(task: TaskSpec) -> bool:
    """LAReQA and Mewsli-X predict a ranked list of pool ids per query."""
    return task.facts.protocol(task.metric) == "ranked_pool"


RANK_DEPTH = retrieval.MAP_DEPTH  # the predictions keep the top 20


def _ranked_gold(retrieval_set: RetrievalSet, gold_name: str) -> dict[str, set[str]]:
    gold = retrieval.gold_rankings(retrieval_set.gold)
    return {query.id: gold[query.id] for query in retrieval_set.source if query.id in gold}


class RetrievalScorer(KindScorer):
    kinds = (TaskKind.RETRIEVAL,)

    def file_suffix(self, task: TaskSpec) -> str:
        return "json" if _ranks(task) else self.suffix

    def write(self, task: TaskSpec, path: Path, predictions_: Any) -> None:
        if _ranks(task):
            predictions.write_rankings(path, predictions_)
        elif _mines_pairs(task):
            predictions.write_id_pairs(path, predictions_)
        else:
            predictions.write_indices(path, predictions_)

    def score(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path) -> dict[str, float]:
        if len(gold) != 1 or not isinstance(gold[0], RetrievalSet):
            raise DataFormatError(gold_name, None, f"expected one {task.name} retrieval set")
        retrieval_set = gold[0]
        if not retrieval_set.gold:
            raise MissingDataError(f"{gold_name}: no gold pairs (BUCC's and Mewsli-X's test gold is not public)")
        if _ranks(task):
            return retrieval.map_at_k(_ranked_gold(retrieval_set, gold_name), predictions.read_rankings(pred),
                                      RANK_DEPTH)
        if _mines_pairs(task):
            return _bucc(retrieval_set.gold, predictions.read_id_pairs(pred), pred)
        gold_indices = tatoeba_gold_indices(retrieval_set)
        predicted = predictions.read_indices(pred, count=len(gold_indices))
        candidates = len(retrieval_set.source if retrieval_set.target_lang == "en" else retrieval_set.target)
        for line, index in enumerate(predicted, start=1):
            if index >= candidates:
                raise DataFormatError(pred, line, f"index {index} is past the end: {gold_name} has {candidates} "
                                                  f"candidate sentences (indices 0 .. {candidates - 1})")
        return retrieval.tatoeba_accuracy(predicted, gold_indices)

    def units(self, task: TaskSpec, lang: str, gold: Sequence[Example], gold_name: str, pred: Path
              ) -> pd.DataFrame | None:
        if _mines_pairs(task):
            return None  # one threshold over the whole candidate set: no per-example form
        if _ranks(task):
            ranked_gold = _ranked_gold(gold[0], gold_name)
            return per_example.mean_units(scoring_rule(task.metric).primary, retrieval.query_average_precisions(
                ranked_gold, predictions.read_rankings(pred), RANK_DEPTH))
        gold_indices = tatoeba_gold_indices(gold[0])
        return per_example.accuracy_units(gold_indices, predictions.read_indices(pred, count=len(gold_indices)))

    def is_label_file(self, task: TaskSpec, lang: str, gold: Path) -> bool:
        """Anything not named like one of the task's data files for ``lang`` (any split)."""
        values = placeholder_values(task, lang, "*")
        return not any(fnmatch.fnmatchcase(gold.name, layout.pattern.split("/")[-1].format(**values))
                       for layout in task.layouts)

    def score_label_file(self, task: TaskSpec, gold: Path, pred: Path) -> dict[str, float]:
        if _ranks(task):
            # XTREME-R's label files: {query id: [gold id]} (Mewsli-X keeps a singleton list).
            labels = {query: set(ids) for query, ids in predictions.read_rankings(gold).items() if ids}
            return retrieval.map_at_k(labels, predictions.read_rankings(pred), RANK_DEPTH)
        if _mines_pairs(task):
            return _bucc(predictions.read_id_pairs(gold), predictions.read_id_pairs(pred), pred)
        gold_indices = predictions.read_indices(gold)
        return retrieval.tatoeba_accuracy(predictions.read_indices(pred, count=len(gold_indices)), gold_indices)


def _bucc(gold: Sequence[tuple[str, str]], predicted: list[tuple[str, str]], pred: Path) -> dict[str, float]:
    gold_pairs, found = set(gold), set(predicted)
    if found and not found & gold_pairs and {(t, s) for s, t in found} & gold_pairs:
        raise DataFormatError(pred, 1, "its pairs match the gold only with the columns swapped: "
                                       "write 'source id<TAB>target id' (the non-English id first)")
    return retrieval.bucc_f1(list(gold), predicted)


def tatoeba_gold_indices(retrieval_set: RetrievalSet) -> list[int]:
    """For each English sentence (prediction line), the position of its translation on the other
    side, -1 when it has none (the order xstilts.evaluation writes Tatoeba predictions in)."""
    english_is_target = retrieval_set.target_lang == "en"
    english, other = ((retrieval_set.target, retrieval_set.source) if english_is_target
                      else (retrieval_set.source, retrieval_set.target))
    position = {sentence.id: i for i, sentence in enumerate(other)}
    translation = {(t if english_is_target else s): (s if english_is_target else t) for s, t in retrieval_set.gold}
    return [position.get(translation.get(sentence.id, ""), -1) for sentence in english]
