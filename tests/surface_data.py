"""Tiny data for the surface test (tests/test_surface.py), written in each task's own file layout.

One writer per READER (``WRITERS``: reader name -> function), never per task: a task added to
the catalog with an existing reader gets its files without touching this module. A writer is
called as ``writer(task, layout, path, lang, split, options)`` where ``path`` is the layout's
pattern with the placeholders resolved as ``xstilts.tasks.load`` resolves them and ``options``
the layout's reader options with their placeholders resolved too. Every file holds ``ROWS``
labelled rows (tiny sentences); studies slice them further.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from xstilts.tasks.load import placeholder_values
from xstilts.tasks.readers import READERS
from xstilts.tasks.readers.lareqa import POOL_PLACEHOLDER
from xstilts.tasks.types import FileLayout, TaskSpec

ROWS = 6
WORDS = ("the cat sat", "a dog ran far", "birds sing loud", "rain fell today", "we eat bread", "she reads books",
         "ships sail north", "old trees grow")
TAGS = ("NOUN", "VERB", "ADJ")
SPAN_TAGS = ("B-PER", "I-PER", "O")


def sentence(i: int, lang: str) -> str:
    return f"{WORDS[i % len(WORDS)]} {lang} {i}"


def labels_of(task: TaskSpec) -> tuple[str, ...]:
    return tuple(task.labels) if task.labels else ("yes", "no")


def tags_of(task: TaskSpec) -> tuple[str, ...]:
    if task.labels:
        return tuple(task.labels)[:3]
    return SPAN_TAGS if task.metric.value == "span_f1" else TAGS


def tagged_sentences(task: TaskSpec, lang: str) -> list[list[tuple[str, str]]]:
    tags = tags_of(task)
    return [[(word, tags[(i + j) % len(tags)]) for j, word in enumerate(sentence(i, lang).split())]
            for i in range(ROWS)]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _jsonl(path: Path, rows: Sequence[dict]) -> None:
    _write(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


# ---------------------------------------------------------------- classification


def _columns(options: dict, roles: Sequence[str]) -> dict[str, object]:
    return {role: options[role] for role in roles if options.get(role) is not None}


def _classification_rows(task: TaskSpec, lang: str, options: dict) -> list[dict[str, str]]:
    labels = labels_of(task)
    rows = []
    for i in range(ROWS):
        row = {"text_a": sentence(i, lang), "text_b": sentence(i + 3, lang), "label": labels[i % len(labels)],
               "guid": f"{lang}-{i}", "filter_column": str(options.get("filter_value") or lang)}
        rows.append(row)
    return rows


def write_tsv_classification(task, layout, path, lang, split, options):
    columns = _columns({"text_a": 0, "text_b": 1, "label": 2, **options},
                       ("text_a", "text_b", "label", "guid", "filter_column"))
    if "text_b" in options and options["text_b"] is None:
        columns.pop("text_b", None)
    header = bool(options.get("header"))
    if header:  # named columns: one per role, in this order
        names = [str(columns[role]) for role in columns]
        position = {role: i for i, role in enumerate(columns)}
    else:
        width = 1 + max(int(value) for value in columns.values())
        position = {role: int(value) for role, value in columns.items()}
        names = None
    lines = ["\t".join(names)] if names else []
    for row in _classification_rows(task, lang, options):
        cells = [""] * (len(names) if names else width)
        for role, index in position.items():
            cells[index] = row[role]
        lines.append("\t".join(cells))
    _write(path, "\n".join(lines) + "\n")


def write_jsonl_classification(task, layout, path, lang, split, options):
    columns = _columns({"label": "label", **options}, ("text_a", "text_b", "label", "guid", "filter_column"))
    _jsonl(path, [{str(key): row[role] for role, key in columns.items()}
                  for row in _classification_rows(task, lang, options)])


# ---------------------------------------------------------------- tagging


def write_conll_tagging(task, layout, path, lang, split, options):
    blocks = ["\n".join(f"{word}\t{tag}" for word, tag in words) for words in tagged_sentences(task, lang)]
    _write(path, "\n\n".join(blocks) + "\n")


def write_token_tag_lines(task, layout, path, lang, split, options):
    _write(path, "".join(" ".join(w for w, _ in words) + "\t" + " ".join(t for _, t in words) + "\n"
                         for words in tagged_sentences(task, lang)))


def write_conllu(task, layout, path, lang, split, options):
    blocks = []
    for n, words in enumerate(tagged_sentences(task, lang)):
        lines = [f"# sent_id = {n}"]
        lines += ["\t".join([str(i + 1), word, word, tag, "_", "_", "0", "dep", "_", "_"])
                  for i, (word, tag) in enumerate(words)]
        blocks.append("\n".join(lines))
    _write(path, "\n\n".join(blocks) + "\n\n")


def write_tsv_tagging(task, layout, path, lang, split, options):
    tokens, tags = int(options.get("tokens", 0)), int(options.get("tags", 1))
    width = 1 + max(tokens, tags)
    lines = []
    if options.get("header"):
        lines.append("\t".join(f"c{i}" for i in range(width)))
    for words in tagged_sentences(task, lang):
        for word, tag in words:
            cells = ["x"] * width
            cells[tokens], cells[tags] = word, tag
            lines.append("\t".join(cells))
        lines.append("")
    _write(path, "\n".join(lines) + "\n")


def write_jsonl_tagging(task, layout, path, lang, split, options):
    tokens, tags = options.get("tokens", "tokens"), options.get("tags", "tags")
    _jsonl(path, [{tokens: [w for w, _ in words], tags: [t for _, t in words]} for words in tagged_sentences(task, lang)])


# ---------------------------------------------------------------- extractive QA


def squad_document(lang: str, prefix: str = "") -> dict:
    paragraphs = []
    for i in range(ROWS):
        answer = f"answer{i}"
        context = f"{sentence(i, lang).capitalize()}. The key is {answer} here. {sentence(i + 1, lang).capitalize()}."
        paragraphs.append({"context": context, "qas": [{
            "id": f"{prefix}{lang}-q{i}", "question": f"what is the key {i}?", "is_impossible": False,
            "answers": [{"text": answer, "answer_start": context.index(answer)}]}]})
    return {"version": "tiny", "data": [{"title": f"t-{lang}", "paragraphs": paragraphs}]}


def write_squad_json(task, layout, path, lang, split, options):
    _write(path, json.dumps(squad_document(lang, str(options.get("id_prefix") or "")), ensure_ascii=False))


# ---------------------------------------------------------------- multiple choice


def _choices(i: int, lang: str, n: int) -> list[str]:
    return [sentence(i + k, lang) for k in range(n)]


def write_xcopa_jsonl(task, layout, path, lang, split, options):
    _jsonl(path, [{"premise": sentence(i, lang), "choice1": sentence(i + 1, lang), "choice2": sentence(i + 2, lang),
                   "question": ("cause", "effect")[i % 2], "label": i % 2, "idx": i} for i in range(ROWS)])


def write_hellaswag_jsonl(task, layout, path, lang, split, options):
    _jsonl(path, [{"ind": i, "ctx_a": sentence(i, lang), "ctx_b": "then", "endings": _choices(i, lang, 4),
                   "label": i % 4} for i in range(ROWS)])


def _cosmos_rows(lang: str) -> list[dict]:
    return [{"id": f"c{i}", "context": sentence(i, lang), "question": f"why {i}?",
             **{f"answer{k}": text for k, text in enumerate(_choices(i, lang, 4))}, "label": i % 4}
            for i in range(ROWS)]


def write_cosmosqa_csv(task, layout, path, lang, split, options):
    rows = _cosmos_rows(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_cosmosqa_jsonl(task, layout, path, lang, split, options):
    _jsonl(path, _cosmos_rows(lang))


def write_csqa_jsonl(task, layout, path, lang, split, options):
    letters = "ABCDE"
    _jsonl(path, [{"id": f"q{i}", "answerKey": letters[i % 5], "question": {
        "stem": f"which {i}?", "choices": [{"label": letter, "text": text}
                                          for letter, text in zip(letters, _choices(i, lang, 5))]}}
        for i in range(ROWS)])


def write_siqa_jsonl(task, layout, path, lang, split, options):
    _jsonl(path, [{"context": sentence(i, lang), "question": f"why {i}?", "answerA": sentence(i + 1, lang),
                   "answerB": sentence(i + 2, lang), "answerC": sentence(i + 3, lang), "correct": "ABC"[i % 3]}
                  for i in range(ROWS)])


def write_tsv_multiple_choice(task, layout, path, lang, split, options):
    choices = list(options["choices"])
    roles = {"question": int(options["question"]), "label": int(options["label"])}
    if options.get("context") is not None:
        roles["context"] = int(options["context"])
    width = 1 + max([*roles.values(), *choices])
    lines = ["\t".join(f"c{i}" for i in range(width))] if options.get("header") else []
    for i in range(ROWS):
        cells = ["x"] * width
        cells[roles["question"]] = f"which {i}?"
        if "context" in roles:
            cells[roles["context"]] = sentence(i, lang)
        for k, column in enumerate(choices):
            cells[column] = sentence(i + k + 1, lang)
        cells[roles["label"]] = str(i % len(choices))
        lines.append("\t".join(cells))
    _write(path, "\n".join(lines) + "\n")


def write_jsonl_multiple_choice(task, layout, path, lang, split, options):
    rows = []
    for i in range(ROWS):
        row = {options["question"]: f"which {i}?", options["choices"]: _choices(i + 1, lang, 3),
               options["label"]: i % 3}
        if options.get("context"):
            row[options["context"]] = sentence(i, lang)
        rows.append(row)
    _jsonl(path, rows)


# ---------------------------------------------------------------- retrieval


def write_tatoeba(task, layout, path, lang, split, options):
    _write(path, "".join(sentence(i, lang) + "\n" for i in range(ROWS)))
    _write(path.with_suffix(".eng"), "".join(sentence(i, "en") + "\n" for i in range(ROWS)))


def write_bucc(task, layout, path, lang, split, options):
    _write(path, "".join(f"{lang}-{i:06d}\t{sentence(i, lang)}\n" for i in range(ROWS)))
    _write(path.with_suffix(".en"), "".join(f"en-{i:06d}\t{sentence(i, 'en')}\n" for i in range(ROWS)))
    _write(path.with_suffix(".gold"), "".join(f"{lang}-{i:06d}\ten-{i:06d}\n" for i in range(0, ROWS, 2)))


def write_lareqa_xquad(task, layout, path, lang, split, options):
    """Every pool language's file (the pool reads all of them), each a SQuAD file whose answers
    start inside a sentence; question ids are shared across languages (the same question)."""
    sibling = str(options["sibling"])
    for pool_lang in {*str(options["pool"]).split(), lang}:
        file = path if pool_lang == lang else path.parent / sibling.replace(POOL_PLACEHOLDER, pool_lang)
        if not file.exists():
            document = squad_document(pool_lang)
            for paragraph in document["data"][0]["paragraphs"]:
                for qa in paragraph["qas"]:
                    qa["id"] = qa["id"].split("-", 1)[1]
            _write(file, json.dumps(document, ensure_ascii=False))


def write_mewslix_jsonl(task, layout, path, lang, split, options):
    entities = path.parent.parent / str(options["entities"])
    if not entities.exists():
        _jsonl(entities, [{"entity_id": f"Q{i}", "description": f"{sentence(i, 'en')} is a thing."}
                          for i in range(ROWS)])
    rows = []
    for i in range(ROWS):
        text = f"Today {sentence(i, lang)} happened."
        start = text.index(sentence(i, lang))
        rows.append({"context": {"text": text}, "mentions": [{
            "example_id": f"{lang}-m{i}", "entity_id": f"Q{i}",
            "mention_span": {"start": start, "end": start + len(sentence(i, lang))}}]})
    _jsonl(path, rows)


def write_mewslix_pairs_jsonl(task, layout, path, lang, split, options):
    """Mewsli-X's Wikipedia MentionEntityPair lines (utils_mewslix.py's JSON)."""
    rows = []
    for i in range(ROWS):
        text, description = f"Today {sentence(i, lang)} happened.", f"{sentence(i, 'en')} is a thing."
        start = text.index(sentence(i, lang))
        end = start + len(sentence(i, lang))
        rows.append({
            "contextual_mention": {
                "context": {"text": text, "sentence_spans": [{"start": 0, "end": len(text)}]},
                "mention": {"example_id": f"{lang}-w{i}", "entity_id": f"Q{i}",
                            "mention_span": {"start": start, "end": end, "text": text[start:end]}}},
            "entity": {"entity_id": f"Q{i}", "description": description,
                       "sentence_spans": [{"start": 0, "end": len(description)}]}})
    _jsonl(path, rows)


# ---------------------------------------------------------------- plain text


def write_text_lines(task, layout, path, lang, split, options):
    _write(path, "".join(sentence(i, lang) + " and more words here\n" for i in range(4 * ROWS)))


WRITERS: dict[str, Callable] = {
    "tsv_classification": write_tsv_classification,
    "jsonl_classification": write_jsonl_classification,
    "conll_tagging": write_conll_tagging,
    "token_tag_lines": write_token_tag_lines,
    "conllu": write_conllu,
    "tsv_tagging": write_tsv_tagging,
    "jsonl_tagging": write_jsonl_tagging,
    "squad_json": write_squad_json,
    "squad_retrieval_json": write_squad_json,  # SQuAD files, read as question -> answer-sentence pairs
    "xcopa_jsonl": write_xcopa_jsonl,
    "hellaswag_jsonl": write_hellaswag_jsonl,
    "cosmosqa_csv": write_cosmosqa_csv,
    "cosmosqa_jsonl": write_cosmosqa_jsonl,
    "csqa_jsonl": write_csqa_jsonl,
    "siqa_jsonl": write_siqa_jsonl,
    "tsv_multiple_choice": write_tsv_multiple_choice,
    "jsonl_multiple_choice": write_jsonl_multiple_choice,
    "tatoeba": write_tatoeba,
    "bucc": write_bucc,
    "lareqa_xquad": write_lareqa_xquad,
    "mewslix_jsonl": write_mewslix_jsonl,
    "mewslix_pairs_jsonl": write_mewslix_pairs_jsonl,
    "text_lines": write_text_lines,
}


# ---------------------------------------------------------------- which file, where


def _fields(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def layout_for(task: TaskSpec, lang: str, split: str) -> tuple[FileLayout, dict[str, str]] | None:
    """The first layout that can hold (lang, split), as ``load.locate`` tries them, and its
    placeholder values (``load.placeholder_values``); None when no layout serves it."""
    from xstilts.tasks.load import _placeholder_values  # the loader's own rule, not a copy of it

    for layout in task.layouts:
        values = _placeholder_values(task, layout, lang, split)
        if values is not None:
            return layout, values
    return None


def resolved_path(layout: FileLayout, values: dict[str, str], data_dir: Path) -> Path:
    """The layout's pattern as one concrete file: placeholders filled, ``**/`` as no folder and
    a ``*`` inside a name as ``x`` (so the loader's glob finds it)."""
    pattern = layout.pattern.format(**values).replace("**/", "").replace("*", "x")
    return (Path(layout.root) if layout.root else data_dir) / pattern


def write_task_data(task: TaskSpec, langs: Sequence[str], data_dir: Path,
                    splits: Sequence[str] = ("train", "dev", "test")) -> list[Path]:
    """Every (lang, split) of ``task`` that some layout serves, in that layout's format. A file
    already written (two tasks sharing a layout, e.g. SQuAD v1.1 train) is left as it is."""
    from xstilts.tasks.registry import get_task

    if task.components:  # ANLI+: its components' files
        return [path for name in task.components for path in write_task_data(get_task(name), ["en"], data_dir, splits)]
    written = []
    wanted = [*dict.fromkeys([*langs, task.train_language])]
    for lang in wanted:
        for split in splits:
            found = layout_for(task, lang, split)
            if found is None:
                continue
            layout, values = found
            path = resolved_path(layout, values, data_dir)
            options = {key: value.format(**values) if isinstance(value, str) else value
                       for key, value in layout.options}
            # A reader with companion files (LAReQA's pool) may still lack them beside a file
            # another task wrote (XQuAD's): its writer completes them.
            if path.exists() and not getattr(READERS.get(layout.reader), "reads_companions", False):
                continue
            WRITERS[layout.reader](task, layout, path, lang, split, options)
            written.append(path)
    return written


__all__ = ["WRITERS", "ROWS", "layout_for", "placeholder_values", "resolved_path", "write_task_data"]
