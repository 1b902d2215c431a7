"""Exact match and token F1 of extractive QA: the SQuAD v1.1 and MLQA official scripts' semantics.

XTREME scores XQuAD and TyDiQA-GoldP with SQuAD v1.1's ``evaluate-v1.1.py`` and MLQA with MLQA's
``mlqa_evaluation_v1.py`` (both copied into xtreme/third_party). Both scripts:

* normalise prediction and gold answer, then EM = normalised strings equal, F1 = bag-of-tokens F1
  of the whitespace-split normalised strings (0 when no token is shared, so an empty gold answer
  only ever scores EM, and only for an empty prediction);
* take the max of EM and of F1 over a question's gold answers;
* total over ALL gold questions: a question missing from the predictions scores 0, predictions for
  unknown ids are ignored.

The two differ in normalisation only (see ``normalize_squad`` and ``normalize_mlqa``).

SQuAD 2.0 (``squad_v2_metrics``) follows the official ``evaluate-v2.0.py``: gold answers whose
normalised text is empty are dropped, an unanswerable question's gold is ``[""]``, and when
either side normalises to no token F1 is 1 if both are empty, else 0.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from xstilts.errors import UnknownLanguageError

_ASCII_PUNCTUATION = frozenset(string.punctuation)
_ENGLISH_ARTICLES = re.compile(r"\b(a|an|the)\b")

# MLQA's per-language article lists. Hindi and Chinese have none; Arabic is handled apart.
_MLQA_ARTICLES = {
    "en": _ENGLISH_ARTICLES,
    "es": re.compile(r"\b(un|una|unos|unas|el|la|los|las)\b"),
    "de": re.compile(r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
    "vi": re.compile(r"\b(của|là|cái|chiếc|những)\b"),
}
MLQA_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")
# The Arabic definite article. The official pattern '\sال^|ال' can never match its first branch
# ('^' after consumed characters), so it replaces every occurrence of the substring with a space.
_ARABIC_ARTICLE = "ال"


def normalize_squad(text: str) -> str:
    """SQuAD v1.1: lowercase, drop ASCII punctuation, drop the words a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCTUATION)
    return " ".join(_ENGLISH_ARTICLES.sub(" ", text).split())


def _is_mlqa_punctuation(ch: str) -> bool:
    # Any Unicode punctuation category (P*) plus ASCII punctuation, which includes symbols like $ + <.
    return ch in _ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


def _is_cjk_ideograph(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fa5"


def _mixed_segmentation(text: str) -> list[str]:
    """MLQA's Chinese tokenisation: every CJK ideograph and punctuation mark is a token, runs of
    other characters are split on whitespace."""
    tokens: list[str] = []
    run = ""
    for ch in text:
        if _is_cjk_ideograph(ch) or _is_mlqa_punctuation(ch):
            tokens.extend(run.split())
            run = ""
            tokens.append(ch)
        else:
            run += ch
    tokens.extend(run.split())
    return tokens


def _remove_mlqa_articles(text: str, lang: str) -> str:
    if lang == "ar":
        return text.replace(_ARABIC_ARTICLE, " ")
    pattern = _MLQA_ARTICLES.get(lang)
    return pattern.sub(" ", text) if pattern else text


def _check_mlqa_language(lang: str) -> None:
    if lang not in MLQA_LANGUAGES:
        raise UnknownLanguageError(f"MLQA scoring has no normalisation for {lang!r}; "
                                   f"expected one of {' '.join(MLQA_LANGUAGES)}")


def normalize_mlqa(text: str, lang: str) -> str:
    """MLQA: lowercase, drop Unicode + ASCII punctuation, drop the language's articles, then
    re-join the tokens (Chinese: mixed segmentation; others: whitespace) with single spaces."""
    _check_mlqa_language(lang)
    text = "".join(ch for ch in text.lower() if not _is_mlqa_punctuation(ch))
    text = _remove_mlqa_articles(text, lang)
    tokens = _mixed_segmentation(text) if lang == "zh" else text.split()
    return " ".join(token for token in tokens if token.strip())


def _token_f1(prediction: str, gold: str) -> float:
    pred_tokens, gold_tokens = prediction.split(), gold.split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _evaluate(gold: Mapping[str, Sequence[str]], pred: Mapping[str, str],
              normalize: Callable[[str], str]) -> dict[str, float]:
    if not gold:
        raise ValueError("no gold questions to score")
    exact_match = f1 = 0
    for question_id, answers in gold.items():
        if not answers:
            raise ValueError(f"question {question_id!r} has no gold answer")
        if question_id not in pred:
            continue
        prediction = normalize(pred[question_id])
        normalized_answers = [normalize(answer) for answer in answers]
        exact_match += max(prediction == answer for answer in normalized_answers)
        f1 += max(_token_f1(prediction, answer) for answer in normalized_answers)
    return {"exact_match": 100.0 * exact_match / len(gold), "f1": 100.0 * f1 / len(gold)}


def squad_metrics(gold: Mapping[str, Sequence[str]], pred: Mapping[str, str]) -> dict[str, float]:
    """SQuAD v1.1 EM and F1 (x100) of ``pred`` (question id -> answer) against the gold answer texts."""
    return _evaluate(gold, pred, normalize_squad)


def mlqa_metrics(gold: Mapping[str, Sequence[str]], pred: Mapping[str, str], lang: str) -> dict[str, float]:
    """MLQA EM and F1 (x100) with the normalisation of the context language ``lang``."""
    _check_mlqa_language(lang)
    return _evaluate(gold, pred, lambda text: normalize_mlqa(text, lang))


def _token_f1_v2(prediction: str, gold: str) -> float:
    if not prediction.split() or not gold.split():
        return float(prediction.split() == gold.split())
    return _token_f1(prediction, gold)


def squad_v2_metrics(gold: Mapping[str, Sequence[str]], pred: Mapping[str, str]) -> dict[str, float]:
    """SQuAD 2.0 EM and F1 (x100): unanswerable questions (no non-empty gold) count as gold ``[""]``."""
    if not gold:
        raise ValueError("no gold questions to score")
    exact_match = f1 = 0.0
    for question_id, answers in gold.items():
        normalized_answers = [normalize_squad(answer) for answer in answers if normalize_squad(answer)] or [""]
        if question_id not in pred:
            continue
        prediction = normalize_squad(pred[question_id])
        exact_match += max(prediction == answer for answer in normalized_answers)
        f1 += max(_token_f1_v2(prediction, answer) for answer in normalized_answers)
    return {"exact_match": 100.0 * exact_match / len(gold), "f1": 100.0 * f1 / len(gold)}
