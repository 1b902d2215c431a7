"""Hub rows -> the files of the XTREME download layout (or the set's original release layout).

Each converter takes the rows of one hub split (dicts in the hub's schema) and the ClassLabel
names of its label columns, and returns the text of the file(s) to write: ``{suffix: text}``
where the empty suffix is the destination itself (Tatoeba also writes the ``.eng`` twin).
Cells of tab-separated files lose tabs and line breaks (they would split the row).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xstilts.errors import DataFormatError

Rows = Sequence[Mapping[str, Any]]
Names = Mapping[str, Sequence[str]]  # column -> ClassLabel names
Converter = Callable[[Rows, Names, dict[str, Any]], dict[str, str]]
# Every converter, by function name (what a task's ``HubSource.converter`` names); filled by ``@converter``.
CONVERTERS: dict[str, Converter] = {}


def converter(*, companions: tuple[str, ...] = ()) -> Callable[[Converter], Converter]:
    """Register a converter; ``companions``: the suffixes of the files it writes beside the
    destination (Tatoeba's ``.eng`` twin), so a fetch knows every file it owns."""
    def register(function: Converter) -> Converter:
        function.companions = companions
        CONVERTERS[function.__name__] = function
        return function
    return register


def _cell(value: Any) -> str:
    return " ".join(str(value).replace("\t", " ").splitlines()).strip() if value is not None else ""


def _label(row: Mapping[str, Any], column: str, names: Names) -> str | None:
    """A label as its name (ClassLabel ints through the names); None for -1 / missing (no gold)."""
    raw = row.get(column)
    if raw is None or raw == -1 or raw == "":
        return None
    if isinstance(raw, int) and column in names:
        if not 0 <= raw < len(names[column]):
            raise DataFormatError(f"hub column {column}", None, f"label id {raw} outside {list(names[column])}")
        return str(names[column][raw])
    return str(raw)


def _jsonl(objects: Sequence[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)


def _tsv(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None) -> str:
    lines = ["\t".join(header)] if header else []
    lines += ["\t".join(_cell(cell) for cell in row) for row in rows]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ classification


@converter()
def nli_tsv(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """XTREME's xnli/{split}-{lang}.tsv: premise, hypothesis, label name (XNLI, XNLI-MT)."""
    return {"": _tsv([(r["premise"], r["hypothesis"], _label(r, "label", names) or "")
                      for r in rows if _label(r, "label", names) is not None])}


@converter()
def pawsx_tsv(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """XTREME's pawsx/{split}-{lang}.tsv: sentence1, sentence2, 0/1."""
    return {"": _tsv([(r["sentence1"], r["sentence2"], int(r["label"])) for r in rows if r.get("label", -1) != -1])}


@converter()
def nli_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """MultiNLI / SNLI release jsonl: sentence1, sentence2, gold_label ("-" = no gold label)."""
    text_a = options.get("text_a", "premise")
    return {"": _jsonl([{"sentence1": r[text_a], "sentence2": r["hypothesis"],
                         "gold_label": _label(r, "label", names) or "-"} for r in rows])}


@converter()
def anli_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """ANLI release jsonl: uid, context, hypothesis, label e/n/c."""
    short = {"entailment": "e", "neutral": "n", "contradiction": "c"}
    return {"": _jsonl([{"uid": r["uid"], "context": r["premise"], "hypothesis": r["hypothesis"],
                         "label": short.get(_label(r, "label", names) or "", "")}
                        for r in rows if _label(r, "label", names) is not None])}


@converter()
def qqp_tsv(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """GLUE QQP/{split}.tsv with a header: id, question1, question2, is_duplicate (0/1)."""
    return {"": _tsv([(r["idx"], r["question1"], r["question2"], int(r["label"])) for r in rows if r["label"] != -1],
                     header=("id", "question1", "question2", "is_duplicate"))}


@converter()
def sst2_tsv(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """GLUE SST-2/{split}.tsv with a header: sentence, label (0/1)."""
    return {"": _tsv([(r["sentence"], int(r["label"])) for r in rows if r["label"] != -1], header=("sentence", "label"))}


# ------------------------------------------------------------------ tagging


@converter()
def conll_tsv(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """XTREME's udpos/panx files: token<TAB>tag, a blank line between sentences; PAN-X tokens
    carry the ``lang:`` prefix of the original release."""
    column = "pos_tags" if rows and "pos_tags" in rows[0] else "ner_tags"
    prefix = f"{options['lang']}:" if options.get("lang_prefix") else ""
    blocks = []
    for r in rows:
        tokens, tags = r["tokens"], r[column]
        if len(tokens) != len(tags):
            raise DataFormatError(f"hub row {r.get('id', '?')}", None, f"{len(tokens)} tokens but {len(tags)} tags")
        if not tokens:
            continue
        tag_names = names.get(column)
        blocks.append("".join(f"{prefix}{_cell(tok) or '_'}\t{tag_names[t] if tag_names else t}\n"
                              for tok, t in zip(tokens, tags)))
    return {"": "\n".join(blocks)}


# ------------------------------------------------------------------ question answering


@converter()
def squad_json(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """SQuAD-format JSON from flat rows (id, title, context, question, answers{text, answer_start}):
    questions grouped into paragraphs by context, paragraphs into articles by title, in row order.
    ``id_prefix`` keeps only matching ids (TyDiQA's mixed-language split); ``version`` 2 marks
    questions without answers ``is_impossible``."""
    prefix = options.get("id_prefix")
    articles: dict[str, dict[str, list]] = {}
    for r in rows:
        if prefix and not str(r["id"]).startswith(prefix):
            continue
        answers = r["answers"]
        qa = {"id": str(r["id"]), "question": r["question"],
              "answers": [{"text": t, "answer_start": int(s)} for t, s in zip(answers["text"], answers["answer_start"])]}
        if options.get("version") == 2:
            qa["is_impossible"] = not qa["answers"]
        paragraphs = articles.setdefault(str(r.get("title", "")), {})
        paragraphs.setdefault(r["context"], []).append(qa)
    data = [{"title": title, "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()]}
            for title, paragraphs in articles.items()]
    version = "v2.0" if options.get("version") == 2 else "1.1"
    return {"": json.dumps({"version": version, "data": data}, ensure_ascii=False) + "\n"}


# ------------------------------------------------------------------ multiple choice


@converter()
def hellaswag_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """The release's jsonl: ind, ctx_a, ctx_b, ctx, endings, label (int; absent in test)."""
    out = []
    for r in rows:
        obj = {k: r[k] for k in ("ind", "activity_label", "ctx_a", "ctx_b", "ctx", "endings") if k in r}
        if str(r.get("label", "")).strip() != "":
            obj["label"] = int(r["label"])
        out.append(obj)
    return {"": _jsonl(out)}


@converter()
def cosmosqa_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    keys = ("id", "context", "question", "answer0", "answer1", "answer2", "answer3")
    return {"": _jsonl([{**{k: r[k] for k in keys}, **({"label": int(r["label"])} if r.get("label", -1) != -1 else {})}
                        for r in rows])}


@converter()
def csqa_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """The official nested layout: id, question{stem, question_concept, choices[{label, text}]}, answerKey."""
    out = []
    for r in rows:
        choices = [{"label": label, "text": text} for label, text in zip(r["choices"]["label"], r["choices"]["text"])]
        obj = {"id": r["id"], "question": {"stem": r["question"], "question_concept": r.get("question_concept", ""),
                                           "choices": choices}}
        if r.get("answerKey"):
            obj["answerKey"] = r["answerKey"]
        out.append(obj)
    return {"": _jsonl(out)}


@converter()
def siqa_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """Social IQa v1.4 layout: the answer letter inline ("correct"); the hub keeps 1-based labels."""
    out = []
    for r in rows:
        obj = {k: r[k] for k in ("context", "question", "answerA", "answerB", "answerC")}
        label = str(r.get("label", "")).strip()
        if label:
            if label not in ("1", "2", "3"):
                raise DataFormatError("hub allenai/social_i_qa", None, f"expected label 1, 2 or 3, found {label!r}")
            obj["correct"] = "ABC"[int(label) - 1]
        out.append(obj)
    return {"": _jsonl(out)}


@converter()
def copa_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """XCOPA/COPA jsonl: premise, choice1, choice2, question (cause/effect), label, idx."""
    out = []
    for i, r in enumerate(rows):
        obj = {"premise": r["premise"], "choice1": r["choice1"], "choice2": r["choice2"],
               "question": r["question"], "idx": r.get("idx", i)}
        if r.get("label", -1) != -1:
            obj["label"] = int(r["label"])
        out.append(obj)
    return {"": _jsonl(out)}


# ------------------------------------------------------------------ retrieval and text


@converter(companions=(".eng",))
def tatoeba_files(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """tatoeba.LLL-eng.LLL and its line-aligned English twin .eng."""
    source = "".join(_cell(r["source_sentence"]) + "\n" for r in rows)
    target = "".join(_cell(r["target_sentence"]) + "\n" for r in rows)
    return {"": source, ".eng": target}


@converter()
def mewslix_jsonl(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """Mewsli-X's wikinews_mentions/SPLIT-LANG.jsonl: one context with its mentions a line, as
    google-research/xtreme's preprocessing writes it (the hub copy keeps those objects)."""
    return {"": _jsonl([{"context": r["context"], "mentions": r["mentions"]} for r in rows])}


@converter()
def text_lines(rows: Rows, names: Names, options: dict[str, Any]) -> dict[str, str]:
    """A masked-LM corpus: one paragraph a line (blank ones dropped), up to ``max_chars`` characters."""
    column, cap = options.get("column", "text"), options.get("max_chars")
    lines, size = [], 0
    for r in rows:
        for paragraph in str(r[column]).splitlines():
            paragraph = _cell(paragraph)
            if not paragraph:
                continue
            if cap is not None and size + len(paragraph) + 1 > cap:
                return {"": "".join(lines)}
            lines.append(paragraph + "\n")
            size += len(paragraph) + 1
    return {"": "".join(lines)}

