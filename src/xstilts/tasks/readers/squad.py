"""SQuAD-format JSON (SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP): one example per question."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from xstilts.errors import DataFormatError, decode_error
from xstilts.tasks.types import Answer, QAExample
from xstilts.tasks.readers.common import reader


@reader()
def squad_json(path: Path, lang: str, *, id_prefix: str | None = None) -> list[QAExample]:
    """Every question with all its gold answers; ``id_prefix`` keeps only matching question ids
    (the official TyDiQA train file mixes nine languages, ids start with the language name).

    JSON has no useful line numbers for structural errors, so they name the JSON location instead.
    """
    try:
        with open(path, encoding="utf-8-sig") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, error.lineno, f"invalid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        raise decode_error(path, error) from None
    articles = _get(document, "data", list, path, "top level")
    examples: list[QAExample] = []
    seen: dict[str, int] = {}
    for a, article in enumerate(articles):
        title = article.get("title", "") if isinstance(article, dict) else ""
        for p, paragraph in enumerate(_get(article, "paragraphs", list, path, f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = _get(paragraph, "context", str, path, where)
            for q, qa in enumerate(_get(paragraph, "qas", list, path, where)):
                question_id = str(_get(qa, "id", (str, int), path, f"{where}.qas[{q}]"))
                if id_prefix is not None and not question_id.startswith(id_prefix):
                    continue
                example = _question(qa, context, title, path, f"{where}.qas[{q}]")
                # Some copies repeat ids (TyDiQA en train: 89 ids for 3,696 questions); predictions
                # are keyed by id, so later repeats become "id#2", "id#3", ...
                seen[question_id] = seen.get(question_id, 0) + 1
                if seen[question_id] > 1:
                    example = replace(example, guid=f"{question_id}#{seen[question_id]}")
                examples.append(example)
    return examples


def _question(qa: object, context: str, title: str, path: Path, where: str) -> QAExample:
    is_impossible = bool(qa.get("is_impossible", False)) if isinstance(qa, dict) else False
    answers = []
    for i, answer in enumerate(_get(qa, "answers", list, path, where)):
        text = _get(answer, "text", str, path, f"{where}.answers[{i}]")
        start = _get(answer, "answer_start", int, path, f"{where}.answers[{i}]")
        # -1 is the usual "offset unknown" (label-only gold files; featurisation skips it).
        if text and start != -1 and not 0 <= start <= len(context) - len(text):
            raise DataFormatError(path, None, f"{where}.answers[{i}].answer_start: {start} puts the answer "
                                              f"outside its context ({len(context)} characters)")
        answers.append(Answer(text=text, start=start))
    return QAExample(
        guid=str(qa["id"]),
        question=_get(qa, "question", str, path, where).strip(),
        context=context,
        answers=tuple(answers),
        title=title if isinstance(title, str) else "",
        is_impossible=is_impossible,
    )


def _get(node: object, key: str, kind: type | tuple[type, ...], path: Path, where: str):
    if not isinstance(node, dict) or key not in node:
        raise DataFormatError(path, None, f"{where}: expected an object with a {key!r} field")
    value = node[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataFormatError(path, None, f"{where}.{key}: expected {_kind_name(kind)}, found {type(value).__name__}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
