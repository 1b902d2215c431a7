"""seqeval-0.0.12 chunk F1 (XTREME's UD-POS and PAN-X scorer) and token accuracy.

Oracle numbers below were computed with the real seqeval 0.0.12 (``pip download --no-binary
:all: seqeval==0.0.12``, installed into a throwaway directory, never a project dependency):
``seqeval.metrics.{f1,precision,recall,accuracy}_score`` on the gold tags of the shared files
(read with a minimal independent parser: CoNLL-U column 4 without multi-word ranges / empty nodes,
PAN-X column 2) against the predictions ``perturb`` below makes. The seqeval-1.2.2 number of the
toy case came from the real seqeval 1.2.2 the same way.
"""

from __future__ import annotations

import random

import pytest

from xstilts.metrics.tagging import chunk_scores, get_entities, ner_metrics, pos_metrics, token_accuracy
from xstilts.tasks.load import read_task_file
from xstilts.tasks.registry import get_task
from xstilts.tasks.catalog.panx import PANX_TAGS
from xstilts.tasks.catalog.udpos import UPOS_TAGS


def perturb(sentences: list[list[str]], labels: tuple[str, ...], seed: int) -> list[list[str]]:
    """Seeded predictions: ~15% of tags replaced at random, ~8% copied from the previous word
    (which merges chunks); sentence lengths unchanged."""
    rng = random.Random(seed)
    predicted = []
    for tags in sentences:
        new = list(tags)
        for i in range(len(new)):
            draw = rng.random()
            if draw < 0.15:
                new[i] = rng.choice(labels)
            elif draw < 0.23 and i > 0:
                new[i] = new[i - 1]
        predicted.append(new)
    return predicted


# ---------------------------------------------------------------- chunking rules


def test_iob2_entities_as_seqeval_docstring():
    assert get_entities([["B-PER", "I-PER", "O", "B-LOC"]]) == [("PER", 0, 1), ("LOC", 3, 3)]


def test_iob2_conlleval_rules_i_after_o_and_type_change():
    # I- after O starts a chunk; a type change inside a chunk closes it and opens a new one.
    assert get_entities([["O", "I-PER", "I-PER", "I-LOC", "B-LOC", "I-LOC"]]) == [
        ("PER", 1, 2), ("LOC", 3, 3), ("LOC", 4, 5)]


def test_run_of_identical_upos_tags_is_one_chunk():
    assert get_entities([["NOUN", "NOUN", "VERB", "NOUN"]]) == [("NOUN", 0, 1), ("VERB", 2, 2), ("NOUN", 3, 3)]


def test_s_initial_upos_tags_are_single_token_chunks():
    assert get_entities([["SCONJ", "SCONJ", "SYM", "SYM"]]) == [
        ("SCONJ", 0, 0), ("SCONJ", 1, 1), ("SYM", 2, 2), ("SYM", 3, 3)]


def test_i_initial_intj_continues_and_ends_before_s():
    assert get_entities([["INTJ", "INTJ", "SCONJ", "INTJ"]]) == [("INTJ", 0, 1), ("SCONJ", 2, 2), ("INTJ", 3, 3)]


def test_sentences_are_separated_by_an_o():
    # Offsets count the separator, and a run never crosses a sentence boundary.
    assert get_entities([["NOUN"], ["NOUN", "NOUN"]]) == [("NOUN", 0, 0), ("NOUN", 2, 3)]


def test_merged_run_is_one_wrong_chunk():
    scores = chunk_scores([["NOUN", "VERB"]], [["NOUN", "NOUN"]])
    assert scores == pytest.approx({"precision": 0.0, "recall": 0.0, "f1": 0.0})
    assert token_accuracy([["NOUN", "VERB"]], [["NOUN", "NOUN"]]) == 0.5


def test_seqeval_1x_toy_case():
    gold = [["X", "NOUN", "SCONJ", "VERB"], ["DET", "VERB", "DET", "SCONJ", "NOUN", "DET"],
            ["ADJ", "NOUN", "INTJ", "SCONJ", "DET", "X"]]
    pred = [["X", "NOUN", "SCONJ", "VERB"], ["DET", "VERB", "DET", "DET", "VERB", "DET"],
            ["ADJ", "NOUN", "INTJ", "DET", "DET", "X"]]
    scores = pos_metrics(gold, pred)
    assert scores["accuracy"] == pytest.approx(81.25)
    # seqeval 0.0.12: 16 gold chunks, 14 predicted, 11 correct -> F1 0.7333. seqeval 1.2.2 gives
    # 0.7143: it loses the sentence-final X chunks (type "_", like the separator O).
    assert scores["precision"] == pytest.approx(100 * 11 / 14)
    assert scores["recall"] == pytest.approx(100 * 11 / 16)
    assert scores["f1"] == pytest.approx(100 * 11 / 15)


def test_no_predicted_chunk_scores_zero():
    assert ner_metrics([["B-PER", "O"]], [["O", "O"]]) == pytest.approx(
        {"f1": 0.0, "precision": 0.0, "recall": 0.0, "accuracy": 50.0})


def test_misaligned_sentences_are_refused():
    with pytest.raises(ValueError, match="sentence 0"):
        pos_metrics([["NOUN", "VERB"]], [["NOUN"]])
    with pytest.raises(ValueError, match="predicted sentences"):
        pos_metrics([["NOUN"]], [["NOUN"], ["NOUN"]])


# ---------------------------------------------------------------- real data against seqeval 0.0.12

# file -> (seed, f1, precision, recall, accuracy) from seqeval 0.0.12, x100
POS_ORACLE = {
    "udpos/en_ewt-ud-dev.conllu": (1, 72.85654353154187, 75.60953253895508, 70.2969875154459, 78.95176362985644),
    "udpos/de_gsd-ud-test.conllu": (2, 73.53883767799914, 76.30965441579814, 70.9621883568195, 79.01084914237227),
    "udpos/ja_gsd-ud-test.conllu": (3, 71.6636033532075, 73.67499308692045, 69.75912026531681, 79.43071965628357),
    "udpos/zh_gsd-ud-test.conllu": (4, 71.63547129865756, 73.65921234909955, 69.71995878992226, 79.29225645295587),
    "udpos/yo_ytb-ud-test.conllu": (5, 71.26276045308349, 73.30264672036823, 69.33333333333334, 78.39378866917384),
}
NER_ORACLE = {
    "panx/dev-en.tsv": (11, 43.15754253210821, 33.93370299915004, 59.26763749469814, 83.79358299394059),
    "panx/dev-ar.tsv": (12, 38.81324805268824, 30.169825252276645, 54.397798881689894, 83.6680095192173),
    "panx/dev-zh.tsv": (13, 21.35057892422688, 13.843814592193105, 46.6421195869687, 85.21822146928614),
    "panx/dev-sw.tsv": (14, 50.399744163735214, 41.0844629822732, 65.1778329197684, 84.15047245498306),
}


def _gold_tags(task: str, path) -> list[list[str]]:
    return [list(example.tags) for example in read_task_file(get_task(task), path)]


@pytest.mark.parametrize("name", sorted(POS_ORACLE))
def test_pos_matches_seqeval_0_0_12_on_real_ud(shared_data, name):
    seed, f1, precision, recall, accuracy = POS_ORACLE[name]
    gold = _gold_tags("udpos", shared_data / name)
    scores = pos_metrics(gold, perturb(gold, UPOS_TAGS, seed))
    assert scores == pytest.approx({"f1": f1, "precision": precision, "recall": recall, "accuracy": accuracy},
                                   abs=1e-4)


@pytest.mark.parametrize("name", sorted(NER_ORACLE))
def test_ner_matches_seqeval_0_0_12_on_real_panx(shared_data, name):
    seed, f1, precision, recall, accuracy = NER_ORACLE[name]
    gold = _gold_tags("panx", shared_data / name)
    scores = ner_metrics(gold, perturb(gold, PANX_TAGS, seed))
    assert scores == pytest.approx({"f1": f1, "precision": precision, "recall": recall, "accuracy": accuracy},
                                   abs=1e-4)


def test_pos_f1_differs_from_token_accuracy_on_real_ud(shared_data):
    gold = _gold_tags("udpos", shared_data / "udpos/en_ewt-ud-dev.conllu")
    assert pos_metrics(gold, gold) == pytest.approx({"f1": 100.0, "precision": 100.0, "recall": 100.0,
                                                     "accuracy": 100.0})
    # Number of chunks in the gold dev set per seqeval 0.0.12 (runs merged, SCONJ/SYM split).
    assert len(get_entities(gold)) == 23469
