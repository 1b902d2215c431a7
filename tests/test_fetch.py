"""`xstilts data fetch`: hub rows in the hub's own schemas -> files the readers read back.

Rows follow the published schemas of each hub set (ClassLabel ints with their names, SQuAD-style
answers dicts, google/xtreme token/tag lists, ...); the network itself is never touched here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from xstilts.tasks.fetch.download import MANIFEST, fetch_sources, read_manifest, write_source
from xstilts.tasks.fetch.sources import source_for, sources_for_selections, sources_for_tasks
from xstilts.tasks.load import load_examples
from xstilts.tasks.registry import get_task
from xstilts.tasks.types import Answer

NLI = ["entailment", "neutral", "contradiction"]


def roundtrip(tmp_path: Path, task: str, lang: str, split: str, rows, names=None):
    source = source_for(task, lang, split)
    assert source.fetchable, source.note
    write_source(source, rows, names or {}, tmp_path)
    return load_examples(get_task(task), lang, split, tmp_path)


def test_xnli_rows_become_xtreme_tsv(tmp_path):
    rows = [{"premise": "Er sagte\tnichts.", "hypothesis": "Er schwieg\nlange.", "label": 0},
            {"premise": "A", "hypothesis": "B", "label": 2}]
    examples = roundtrip(tmp_path, "xnli", "de", "train", rows, {"label": NLI})
    assert (tmp_path / "xnli/train-de.tsv").is_file()
    assert [(e.text_a, e.text_b, e.label) for e in examples] == [
        ("Er sagte nichts.", "Er schwieg lange.", "entailment"), ("A", "B", "contradiction")]


def test_pawsx_qqp_sst2(tmp_path):
    paws = roundtrip(tmp_path, "pawsx", "de", "test", [{"id": 1, "sentence1": "a", "sentence2": "b", "label": 1}],
                     {"label": ["0", "1"]})
    assert [(e.text_a, e.text_b, e.label) for e in paws] == [("a", "b", "1")]
    qqp = roundtrip(tmp_path, "qqp", "en", "dev", [{"question1": "q1?", "question2": "q2?", "label": 0, "idx": 7}],
                    {"label": ["not_duplicate", "duplicate"]})
    assert [(e.guid, e.text_a, e.text_b, e.label) for e in qqp] == [("7", "q1?", "q2?", "0")]
    sst = roundtrip(tmp_path, "sst2", "en", "train", [{"sentence": "fine film", "label": 1, "idx": 0}],
                    {"label": ["negative", "positive"]})
    assert [(e.text_a, e.text_b, e.label) for e in sst] == [("fine film", None, "1")]


def test_mnli_snli_anli_share_the_nli_labels(tmp_path):
    mnli = roundtrip(tmp_path, "mnli", "en", "dev", [{"premise": "p", "hypothesis": "h", "label": 1, "idx": 0}],
                     {"label": NLI})
    assert (tmp_path / "multinli_1.0/multinli_1.0_dev_matched.jsonl").is_file()
    assert [e.label for e in mnli] == ["neutral"]
    # SNLI's -1 = no gold label: dropped (the reader skips "-").
    snli = roundtrip(tmp_path, "snli", "en", "train", [{"premise": "p", "hypothesis": "h", "label": -1},
                                                        {"premise": "p2", "hypothesis": "h2", "label": 2}],
                     {"label": NLI})
    assert [(e.text_a, e.label) for e in snli] == [("p2", "contradiction")]
    anli = roundtrip(tmp_path, "anli_r2", "en", "dev",
                     [{"uid": "u1", "premise": "c", "hypothesis": "h", "label": 0, "reason": ""}], {"label": NLI})
    assert [(e.guid, e.text_a, e.label) for e in anli] == [("u1", "c", "entailment")]
    assert source_for("anli_r2", "en", "dev").hub_split == "dev_r2"


def test_tagging_rows_become_conll_files(tmp_path):
    upos = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
            "SCONJ", "SYM", "VERB", "X"]
    pos = roundtrip(tmp_path, "udpos", "de", "test", [{"tokens": ["Das", "Haus", "."], "pos_tags": [5, 7, 12]}],
                    {"pos_tags": upos})
    assert source_for("udpos", "de", "test").config == "udpos.German"
    assert [(e.words, e.tags) for e in pos] == [(("Das", "Haus", "."), ("DET", "NOUN", "PUNCT"))]
    ner_names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
    ner = roundtrip(tmp_path, "panx", "sw", "dev",
                    [{"tokens": ["Juma", "Kenya"], "ner_tags": [1, 5], "langs": ["sw", "sw"]},
                     {"tokens": ["na"], "ner_tags": [0], "langs": ["sw"]}], {"ner_tags": ner_names})
    assert (tmp_path / "panx/dev-sw.tsv").read_text().startswith("sw:Juma\tB-PER\n")
    assert [(e.words, e.tags) for e in ner] == [(("Juma", "Kenya"), ("B-PER", "B-LOC")), (("na",), ("O",))]


def test_qa_rows_become_squad_json(tmp_path):
    rows = [{"id": "q1", "title": "T", "context": "Berlin is big.", "question": "What? ",
             "answers": {"text": ["Berlin"], "answer_start": [0]}},
            {"id": "q2", "title": "T", "context": "Berlin is big.", "question": "How?",
             "answers": {"text": ["big", "big."], "answer_start": [10, 10]}}]
    xquad = roundtrip(tmp_path, "xquad", "de", "test", rows)
    assert [(e.guid, e.question, e.answers) for e in xquad] == [
        ("q1", "What?", (Answer("Berlin", 0),)), ("q2", "How?", (Answer("big", 10), Answer("big.", 10)))]
    unanswerable = dict(rows[0], id="q3", answers={"text": [], "answer_start": []})
    v2 = roundtrip(tmp_path, "squad_v2", "en", "dev", [rows[0], unanswerable])
    assert [(e.guid, e.is_impossible) for e in v2] == [("q1", False), ("q3", True)]
    # google-research-datasets/tydiqa mixes nine languages in one split; ids carry the language name.
    tydi = roundtrip(tmp_path, "tydiqa", "sw", "dev", [dict(rows[0], id="swahili-1"), dict(rows[0], id="arabic-2")])
    assert [e.guid for e in tydi] == ["swahili-1"]
    mlqa = roundtrip(tmp_path, "mlqa", "de", "test", rows[:1])
    assert source_for("mlqa", "de", "test").config == "MLQA.de.de" and [e.guid for e in mlqa] == ["q1"]


def test_multiple_choice_variants(tmp_path):
    hella = roundtrip(tmp_path, "hellaswag", "en", "dev", [
        {"ind": 4, "activity_label": "x", "ctx_a": "A man", "ctx_b": "then", "ctx": "A man then",
         "endings": ["a", "b", "c", "d"], "source_id": "s", "split": "val", "split_type": "indomain", "label": "2"}])
    assert [(e.context, e.choices, e.label) for e in hella] == [("A man", ("then a", "then b", "then c", "then d"), 2)]
    cosmos = roundtrip(tmp_path, "cosmosqa", "en", "dev", [
        {"id": "c1", "context": "ctx", "question": "q", "answer0": "a", "answer1": "b", "answer2": "c",
         "answer3": "d", "label": 3}])
    assert [(e.guid, e.choices, e.label) for e in cosmos] == [("c1", ("a", "b", "c", "d"), 3)]
    csqa = roundtrip(tmp_path, "csqa", "en", "train", [
        {"id": "k", "question": "Where?", "question_concept": "x",
         "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["a", "b", "c", "d", "e"]}, "answerKey": "C"}])
    assert [(e.question, e.label) for e in csqa] == [("Where?", 2)]
    siqa = roundtrip(tmp_path, "siqa", "en", "dev", [
        {"context": "ctx", "question": "q", "answerA": "a", "answerB": "b", "answerC": "c", "label": "3"}])
    assert [(e.choices, e.label) for e in siqa] == [(("a", "b", "c"), 2)]
    xcopa = roundtrip(tmp_path, "xcopa", "sw", "test", [
        {"premise": "p", "choice1": "c1", "choice2": "c2", "question": "effect", "label": 1, "idx": 0,
         "changed": False}])
    assert [(e.context, e.choices, e.label) for e in xcopa] == [("p", ("c1", "c2"), 1)]


def test_tatoeba_rows_become_aligned_pair_of_files(tmp_path):
    sets = roundtrip(tmp_path, "tatoeba", "de", "test", [
        {"source_sentence": "Hallo.\n", "target_sentence": "Hello.\n", "source_lang": "deu", "target_lang": "eng"},
        {"source_sentence": "Danke.", "target_sentence": "Thanks.", "source_lang": "deu", "target_lang": "eng"}])
    assert (tmp_path / "tatoeba/tatoeba.deu-eng.eng").is_file()
    assert [p.text for p in sets[0].source] == ["Hallo.", "Danke."]
    assert [p.text for p in sets[0].target] == ["Hello.", "Thanks."]


def test_shared_xnli_rows_round_trip(tmp_path, shared_data):
    """Rows rebuilt from the shared German XNLI dev file come back as the same examples."""
    original = load_examples(get_task("xnli"), "de", "dev", shared_data)[:200]
    rows = [{"premise": e.text_a, "hypothesis": e.text_b, "label": NLI.index(e.label)} for e in original]
    again = roundtrip(tmp_path, "xnli", "de", "dev", rows, {"label": NLI})
    assert [(e.text_a, e.text_b, e.label) for e in again] == [(e.text_a, e.text_b, e.label) for e in original]


def test_unfetchable_sets_say_where_to_get_them():
    assert "comparable.limsi.fr" in source_for("bucc2018", "de", "test").note
    assert "LDC" in source_for("ccg", "en", "train").note
    squad_de = source_for("squad_v1", "de", "train")
    assert squad_de.url.endswith("/SQuAD/translate-train/squad.translate.train.en-de.json")


def test_offline_fetch_fails_one_line_per_set_and_writes_nothing(tmp_path):
    sources = sources_for_tasks(["xnli"], ["de", "sw"], ["dev"])
    outcomes = fetch_sources(sources, tmp_path, reachable=lambda: "cannot reach huggingface.co")
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert all("\n" not in o.message and "huggingface.co" in o.message for o in outcomes)
    assert not any(tmp_path.iterdir())


def test_fetch_is_resumable_with_a_manifest(tmp_path, monkeypatch):
    from xstilts.tasks.fetch import download

    calls = []

    def fake_rows(source):
        calls.append(source.destination)
        return [{"premise": "p", "hypothesis": "h", "label": 1}], {"label": NLI}, "abc123"

    monkeypatch.setattr(download, "_load_rows", fake_rows)
    sources = sources_for_tasks(["xnli"], ["de"], ["dev"])
    first = fetch_sources(sources, tmp_path, reachable=lambda: None)
    assert [o.status for o in first] == ["fetched"]
    row = read_manifest(tmp_path)["xnli/dev-de.tsv"]
    assert (row["source"], row["config"], row["hub_split"], row["revision"], row["rows"]) == (
        "facebook/xnli", "de", "validation", "abc123", "1")
    assert [o.status for o in fetch_sources(sources, tmp_path, reachable=lambda: None)] == ["skipped"]
    (tmp_path / "xnli/dev-de.tsv").write_text("damaged\n")  # a changed file is fetched again
    assert [o.status for o in fetch_sources(sources, tmp_path, reachable=lambda: None)] == ["fetched"]
    assert len(calls) == 2 and (tmp_path / MANIFEST).is_file()
    assert not list(tmp_path.rglob("*.tmp*"))


def test_study_dry_run_lists_exactly_the_missing_selections():
    """Every selection `plan` reports missing is listed with a source (ANLI+ as its five parts)."""
    from xstilts.study import build_plan, load_study
    from xstilts.tasks.fetch.sources import components

    study = Path(__file__).parent.parent / "examples" / "order_study_paper.toml"
    plan = build_plan(load_study(study))
    assert len(plan.missing_data) > 0
    expected = {(part, s.lang, s.split) for s in plan.missing_selections for part in components(s.task)}
    sources = sources_for_selections(plan.missing_selections)
    assert {(s.task, s.lang, s.split) for s in sources} == expected
    assert all(s.describe() for s in sources)
    outcomes = fetch_sources(sources, plan.data_dir or Path("/nonexistent"), dry_run=True,
                             reachable=lambda: pytest.fail("a dry run must not touch the network"))
    assert {o.status for o in outcomes} <= {"planned", "unavailable"}
    assert {o.source.task for o in outcomes if o.status == "unavailable"} == {"bucc2018"}


def _cli(args, capsys):
    from xstilts.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exit_info:  # main exits only with a non-zero code
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_dry_run_names_each_missing_set_with_its_source(capsys):
    study = Path(__file__).parent.parent / "examples" / "order_study_paper.toml"
    code, out, _ = _cli(["data", "fetch", "--study", str(study), "--dry-run"], capsys)
    assert code in (0, None)
    assert "planned xnli train-de -> xnli/train-de.tsv: facebook/xnli (de, train)" in out
    assert "planned anli_r3 train-en -> anli_v1.0/R3/train.jsonl: facebook/anli (default, train_r3)" in out
    assert out.count("comparable.limsi.fr") == 1  # one line for BUCC, not one per language


def test_run_with_missing_data_says_which_command_fetches_it(tmp_path, capsys):
    study = tmp_path / "s.toml"
    study.write_text(f"""
name = "s"
model = "multilingual-e5-small"
output_dir = "runs"
data_dir = "{tmp_path / 'empty'}"
seeds = [1]
[orders]
baseline = true
[[targets]]
task = "panx"
langs = ["de"]
""")
    code, out, err = _cli(["run", str(study)], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"xstilts data fetch --study {study}" in lines[0]
    assert "Traceback" not in err + out


def test_mlm_corpus_is_capped_plain_text_the_mlm_task_reads(tmp_path):
    from xstilts.tasks.fetch.sources import mlm_corpus_source

    source = mlm_corpus_source("sw", max_chars=40)
    assert (source.dataset, source.config) == ("wikimedia/wikipedia", "20231101.sw")
    rows = [{"id": "1", "url": "u", "title": "Kenya", "text": "Kenya ni nchi.\n\nIna watu wengi."},
            {"id": "2", "url": "u", "title": "X", "text": "Hii haitaingia kwa sababu ya kikomo."}]
    write_source(source, rows, {}, tmp_path)
    lines = load_examples(get_task("mlm"), "sw", "train", tmp_path)
    assert [e.text for e in lines] == ["Kenya ni nchi.", "Ina watu wengi."]


def test_lareqa_fetches_the_xquad_r_release_and_keeps_only_a_file_with_its_counts(tmp_path, monkeypatch,
                                                                                  shared_data):
    """The hub's row copy of XQuAD-R drops the sentence breaks: the release files are copied as
    published and checked against the release's question and sentence counts."""
    release = shared_data / "lareqa" / "xquad-r"
    if not (release / "th.json").is_file():
        pytest.skip("the XQuAD-R release is not in the shared data (lareqa/xquad-r/)")
    import datasets

    served = {"th.json": release / "th.json", "de.json": shared_data / "xquad" / "xquad.de.json"}

    class FakeDownloads:  # the network is never touched: the URL's file name picks a local file
        def download(self, url):
            return str(served[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(datasets, "DownloadManager", FakeDownloads)
    sources = sources_for_tasks(["lareqa"], ["th", "de"])
    assert [s.destination for s in sources] == ["lareqa/xquad-r/th.json", "lareqa/xquad-r/de.json"]
    assert sources[0].url.endswith("google-research-datasets/lareqa/raw/master/xquad-r/th.json")
    th, de = fetch_sources(sources, tmp_path, reachable=lambda: None)
    assert th.status == "fetched" and (tmp_path / "lareqa/xquad-r/th.json").is_file()
    # Plain XQuAD served under the release's name is refused, in one line, and not kept.
    assert de.status == "failed" and "\n" not in de.message
    assert "not the XQuAD-R release: 1190 questions and 1381 sentences, the release has 1190 and 1276" in de.message
    assert not (tmp_path / "lareqa/xquad-r/de.json").exists() and not list(tmp_path.rglob("*.tmp*"))
