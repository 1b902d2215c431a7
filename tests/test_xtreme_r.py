"""XTREME-R: the suite (tasks, groups, languages, score rule) against google-research/xtreme's
evaluate.py and hand-computed scores; LAReQA's pool; ranked retrieval; score-folder --suite."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from xstilts.errors import DataFormatError, MissingDataError
from xstilts.scoring.aggregate import aggregate
from xstilts.results.suite_table import suite_columns
from xstilts.scoring import score_folder
from xstilts.scoring.score import score_examples, write_predictions
from xstilts.tasks.load import load_examples
from xstilts.tasks.readers.lareqa import lareqa_xquad, mewslix_jsonl, mewslix_query, sentence_breaks
from xstilts.tasks.registry import get_suite, get_task, suite_groups, suite_tasks

# google-research/xtreme evaluate.py, XTREME_R_TASK2LANGS (LAReQA: [] there, scored by its own
# script over the 11 XQuAD-R languages).
XTREME_R_LANGUAGES = {
    "xnli": "ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh",
    "panx": "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,yo,my,"
            "zh,kk,tr,et,fi,hu,qu,pl,uk,az,lt,pa,gu,ro",
    "udpos": "af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,mr,nl,pt,ru,ta,te,th,tl,tr,ur,vi,yo,zh,"
             "lt,pl,uk,wo,ro",
    "tatoeba": "ar,he,vi,id,jv,tl,eu,ml,ta,te,af,nl,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,bg,ru,ja,ka,ko,th,sw,zh,kk,tr,"
               "et,fi,hu,az,lt,pl,uk,ro",
    "xcopa": "et,ht,id,it,qu,sw,ta,th,tr,vi,zh",
    "lareqa": "ar,de,el,en,es,hi,ru,th,tr,vi,zh",
    "mewslix": "ar,de,en,es,fa,ja,pl,ro,ta,tr,uk",
    "xquad": "en,es,de,el,ru,tr,ar,vi,th,zh,hi,ro",
    "mlqa": "en,es,de,ar,hi,vi,zh",
    "tydiqa": "en,ar,bn,fi,id,ko,ru,sw,te",
}


def test_suite_tasks_groups_and_languages_are_xtreme_rs():
    assert get_suite("xtreme-r").score_name == "XTREME-R score"
    assert suite_groups("xtreme-r") == {
        "classification": ("xnli", "xcopa"), "structured_prediction": ("udpos", "panx"),
        "question_answering": ("xquad", "mlqa", "tydiqa"), "retrieval": ("mewslix", "lareqa", "tatoeba")}
    for task in suite_tasks("xtreme-r"):
        assert set(task.suite_languages("xtreme-r")) == set(XTREME_R_LANGUAGES[task.name].split(",")), task.name
    # PAWS-X and BUCC are XTREME's only; XTREME keeps its own language sets.
    assert {t.name for t in suite_tasks("xtreme")} - {t.name for t in suite_tasks("xtreme-r")} == {"pawsx", "bucc2018"}
    assert len(get_task("panx").suite_languages("xtreme")) == 40
    assert get_task("lareqa").metric.value == get_task("mewslix").metric.value == "map_at_20"


def _scores(value_of) -> dict:
    """task -> language -> metrics for every XTREME-R language of every task."""
    scores = {}
    for task in suite_tasks("xtreme-r"):
        scores[task.name] = {lang: value_of(task.name, lang) for lang in task.suite_languages("xtreme-r")}
    return scores


BASE = {"xnli": {"accuracy": 70.0}, "xcopa": {"accuracy": 60.0}, "udpos": {"f1": 80.0}, "panx": {"f1": 60.0},
        "xquad": {"f1": 80.0, "exact_match": 60.0}, "mlqa": {"f1": 70.0, "exact_match": 50.0},
        "tydiqa": {"f1": 60.0, "exact_match": 40.0}, "mewslix": {"map_at_20": 30.0},
        "lareqa": {"map_at_20": 40.0}, "tatoeba": {"accuracy": 90.0}}


def test_score_arithmetic_hand_computed():
    xtreme_panx = set(get_task("panx").suite_languages("xtreme"))

    def value(task, lang):
        if task == "panx" and lang not in xtreme_panx:
            return {"f1": 20.0}  # the 8 languages XTREME-R adds
        return dict(BASE[task])

    scores = _scores(value)
    scores["xcopa"]["en"] = {"accuracy": 100.0}  # English COPA is not an XTREME-R language: not averaged
    summary = aggregate(scores, suite="xtreme-r")
    panx = (40 * 60 + 8 * 20) / 48  # 53.33
    assert summary["tasks"]["panx"]["score"] == pytest.approx(panx)
    assert summary["tasks"]["xcopa"]["score"] == pytest.approx(60.0)
    assert summary["tasks"]["xquad"]["score"] == pytest.approx(70.0)  # (F1 + EM) / 2
    assert summary["groups"] == pytest.approx({
        "classification": 65.0, "structured_prediction": (80 + panx) / 2,
        "question_answering": (70 + 60 + 50) / 3, "retrieval": (30 + 40 + 90) / 3})
    # The XTREME-R score is the mean of the ten task scores (not of the four group scores).
    assert summary["xtreme_score"] == pytest.approx((70 + 60 + 80 + panx + 70 + 60 + 50 + 30 + 40 + 90) / 10)
    # XTREME scores the same PAN-X predictions on its 40 languages only.
    assert aggregate({"panx": scores["panx"]}, suite="xtreme")["tasks"]["panx"]["score"] == pytest.approx(60.0)
    # A task missing: no suite score, its group none, the others stand.
    del scores["mewslix"]
    partial = aggregate(scores, suite="xtreme-r")
    assert partial["xtreme_score"] is None and partial["groups"]["retrieval"] is None
    assert partial["groups"]["classification"] == pytest.approx(65.0)


def test_suite_columns_pure_function():
    tasks = pd.DataFrame({"xnli": [70.0, 72.0], "xcopa": [60.0, float("nan")], "tatoeba": [90.0, 91.0],
                          "pawsx": [1.0, 1.0]}, index=["A", "B"])
    out = suite_columns(tasks, "xtreme-r")
    assert list(out.columns) == ["Classification", "XTREME-R score (partial: 3/10 tasks)"]
    assert out.loc["A", "Classification"] == pytest.approx(65.0)
    assert out.loc["A"].iloc[-1] == pytest.approx((70 + 60 + 90) / 3)
    assert pd.isna(out.loc["B", "Classification"]) and pd.isna(out.loc["B"].iloc[-1])
    full = suite_columns(pd.DataFrame({t.name: [50.0] for t in suite_tasks("xtreme-r")}, index=["A"]), "xtreme-r")
    assert list(full.columns)[-1] == "XTREME-R score" and full.iloc[0, -1] == pytest.approx(50.0)
    assert len(full.columns) == 5


# ---------------------------------------------------------------- LAReQA


def _xquad(path: Path, paragraphs: list[tuple[str, list[tuple[str, str, int]]]], breaks=None) -> Path:
    data = [{"title": "t", "paragraphs": [
        {"context": context, "qas": [{"id": qid, "question": q, "answers": [{"text": "x", "answer_start": start}]}
                                     for qid, q, start in qas], **({"sentence_breaks": breaks} if breaks else {})}
        for context, qas in paragraphs]}]
    path.write_text(json.dumps({"data": data}, ensure_ascii=False), encoding="utf-8")
    return path


def test_sentence_breaks():
    text = "Alpha is first. Beta is second!  Gamma (third?) ends"
    assert [text[b:e] for b, e in sentence_breaks(text)] == ["Alpha is first.", "Beta is second!", "Gamma (third?) ends"]
    assert [("一是。二是。")[b:e] for b, e in sentence_breaks("一是。二是。")] == ["一是。", "二是。"]
    assert len(sentence_breaks("पहला वाक्य। दूसरा वाक्य।")) == 2
    assert sentence_breaks("") == []


def test_lareqa_pool_from_handmade_xquad_files(tmp_path):
    en_context = "Alpha is first. Beta is second! Gamma is third."
    de_context = "Alpha ist erst. Beta ist zweit. Gamma ist dritt."
    _xquad(tmp_path / "xquad.en.json", [(en_context, [("q1", "Which is second?", en_context.index("Beta")),
                                                      ("q2", "Which is third?", en_context.index("Gamma"))])])
    _xquad(tmp_path / "xquad.de.json", [(de_context, [("q1", "Was ist zweit?", de_context.index("Beta")),
                                                      ("q2", "Was ist dritt?", de_context.index("Gamma"))])])
    (pool,) = lareqa_xquad(tmp_path / "xquad.de.json", "de", pool="en de", sibling="xquad.LANG.json")
    assert [q.id for q in pool.source] == ["q1", "q2"] and pool.source[0].text == "Was ist zweit?"
    assert [c.id for c in pool.target] == ["en_1_0", "en_1_1", "en_1_2", "de_1_0", "de_1_1", "de_1_2"]
    # A candidate is its sentence followed directly by its paragraph (as utils_lareqa.py encodes it).
    assert pool.target[1].text == "Beta is second!" + en_context
    assert set(pool.gold) == {("q1", "en_1_1"), ("q1", "de_1_1"), ("q2", "en_1_2"), ("q2", "de_1_2")}
    # Released sentence breaks are used as given.
    (tmp_path / "r").mkdir()
    _xquad(tmp_path / "r" / "en.json", [(en_context, [("q1", "Which?", en_context.index("Beta"))])],
           breaks=[[0, 31], [32, 47]])
    (released,) = lareqa_xquad(tmp_path / "r" / "en.json", "en", pool="en", sibling="LANG.json")
    assert [c.id for c in released.target] == ["en_1_0", "en_1_1"] and released.gold == (("q1", "en_1_0"),)
    # A language outside the pool asks its questions of the pool without adding to it.
    (outside,) = lareqa_xquad(tmp_path / "xquad.en.json", "en", pool="de", sibling="xquad.LANG.json")
    assert [c.id for c in outside.target] == ["de_1_0", "de_1_1", "de_1_2"] and ("q1", "de_1_1") in outside.gold
    with pytest.raises(MissingDataError, match="xquad.fr.json"):
        lareqa_xquad(tmp_path / "xquad.de.json", "de", pool="en de fr", sibling="xquad.LANG.json")
    (tmp_path / "xquad.en.json").write_text("{", encoding="utf-8")
    with pytest.raises(DataFormatError, match="xquad.en.json:1: invalid JSON"):
        lareqa_xquad(tmp_path / "xquad.de.json", "de", pool="en de", sibling="xquad.LANG.json")


def test_lareqa_pool_is_the_xquad_r_release(shared_data):
    """The reference's load_data on the release: 13,090 questions, 13,014 candidates."""
    if not (shared_data / "lareqa" / "xquad-r" / "de.json").is_file():
        pytest.skip("the XQuAD-R release is not in the shared data (lareqa/xquad-r/)")
    from collections import Counter

    from xstilts.tasks.catalog.lareqa import RELEASE_CANDIDATES

    pools = {lang: load_examples(get_task("lareqa"), lang, "test", shared_data)[0]
             for lang in XTREME_R_LANGUAGES["lareqa"].split(",")}
    assert sum(len(pool.source) for pool in pools.values()) == 13_090
    pool = pools["de"]
    assert len(pool.target) == 13_014
    assert Counter(c.id.split("_")[0] for c in pool.target) == RELEASE_CANDIDATES
    # Every question has its answer sentence in each of the 11 languages.
    assert len(pool.gold) >= 11 * 1190 and {c.split("_")[0] for _, c in pool.gold} == set(RELEASE_CANDIDATES)


def test_a_pool_split_from_plain_xquad_is_another_task_by_name(shared_data):
    """Only asked for by name, titled as what it is, and in no suite."""
    task = get_task("lareqa_xquad_split")
    assert "not XQuAD-R" in task.title and not task.in_suite
    assert [layout.pattern for layout in get_task("lareqa").layouts] == ["lareqa/xquad-r/{lang}.json"]
    if not (shared_data / "xquad" / "xquad.de.json").is_file():
        pytest.skip("shared XQuAD files not found")
    (pool,) = load_examples(task, "de", "test", shared_data)
    assert len(pool.source) == 1190 and len(pool.target) == 12_799
    assert not any(c.id.startswith("ro_") for c in pool.target)


def test_ranked_scoring_of_a_prediction_file(tmp_path):
    en_context = "Alpha is first. Beta is second! Gamma is third."
    _xquad(tmp_path / "xquad.en.json", [(en_context, [("q1", "Which is second?", en_context.index("Beta")),
                                                      ("q2", "Which is third?", en_context.index("Gamma"))])])
    task = get_task("lareqa")
    (pool,) = lareqa_xquad(tmp_path / "xquad.en.json", "en", pool="en", sibling="xquad.LANG.json")
    path = write_predictions(task, tmp_path / "pred", "test", "en", {"q1": ["en_1_0", "en_1_1"], "q2": ["en_1_2"]})
    assert path.name == "test-en.json"
    # q1: gold at rank 2 -> 1/2; q2: rank 1 -> 1.
    assert score_examples(task, "en", [pool], "pool", path) == pytest.approx({"map_at_20": 75.0})


@pytest.mark.slow  # the tiny model's 250k-row vocabulary: ~40 s on 2 cores
def test_ranked_retrieval_from_an_encoder(tiny_model_dir):
    from xstilts.modeling.kinds.retrieval import RetrievalSettings
    from xstilts.evaluation.retrieval import evaluate_ranked
    from xstilts.modeling.loading import load_tokenizer
    from xstilts.tasks.types import RetrievalSet, SentencePair
    from transformers import AutoModel

    model, tokenizer = AutoModel.from_pretrained(tiny_model_dir), load_tokenizer(str(tiny_model_dir))
    texts = ["the cat sat on the mat", "ein Hund bellt laut", "numbers 1 2 3 4", "zwölf Boxkämpfer jagen Viktor"]
    pool = RetrievalSet("toy", "en", "multi", tuple(SentencePair(f"q{i}", t) for i, t in enumerate(texts)),
                        tuple(SentencePair(f"c{i}", t) for i, t in enumerate(texts)),
                        tuple((f"q{i}", f"c{i}") for i in range(4)))
    cache: dict = {}
    result = evaluate_ranked(model, tokenizer, pool, RetrievalSettings(max_length=32), "cpu", pool_vectors=cache)
    # Identical text, identical vector: every query finds its own sentence first.
    assert result["map_at_20"] == pytest.approx(100.0) and len(cache) == 1
    assert [ranked[0] for ranked in result["predictions"].values()] == ["c0", "c1", "c2", "c3"]
    assert all(len(ranked) == 4 for ranked in result["predictions"].values())


# ---------------------------------------------------------------- Mewsli-X


def test_mewslix_reader_and_query_text(tmp_path):
    text = "Smith {left}. The verdict came back for Smith, who resigned."
    start = text.index("Smith,")
    (tmp_path / "mewslix" / "wikinews_mentions").mkdir(parents=True)
    (tmp_path / "mewslix" / "wikinews_mentions" / "dev-de.jsonl").write_text(json.dumps({
        "context": {"text": text, "sentence_spans": [{"start": 0, "end": 13}, {"start": 14, "end": len(text)}]},
        "mentions": [{"example_id": "m1", "mention_span": {"start": start, "end": start + 5, "text": "Smith"},
                      "entity_id": "Q1"}]}) + "\n")
    path = tmp_path / "mewslix" / "wikinews_mentions" / "dev-de.jsonl"
    with pytest.raises(MissingDataError, match="candidate_set_entities.jsonl.*xstilts data fetch mewslix"):
        mewslix_jsonl(path, "de", entities="candidate_set_entities.jsonl")
    (tmp_path / "mewslix" / "candidate_set_entities.jsonl").write_text(json.dumps(
        {"entity_id": "Q1", "description": "John Smith is a lawyer.\nHe was born.",
         "sentence_spans": [{"start": 0, "end": 23}, {"start": 24, "end": 36}]}) + "\n")
    (pool,) = mewslix_jsonl(path, "de", entities="candidate_set_entities.jsonl")
    assert pool.source[0].text == "Smith: The verdict came back for { Smith } , who resigned."
    assert pool.target[0].text == "John Smith is a lawyer. He was born." and pool.gold == (("m1", "Q1"),)
    assert mewslix_query("a {b} c", [], 6, 7) == "c: a (b) { c }"


def test_a_study_naming_mewslix_without_its_data_lists_it_missing(tmp_path, monkeypatch):
    from xstilts.study import build_plan, load_study

    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    study = tmp_path / "study.toml"
    study.write_text('name = "m"\nmodel = "multilingual-e5-small"\ndata_dir = "data"\noutput_dir = "runs"\n'
                     'seeds = [1]\nsuite = "xtreme-r"\n[orders]\nbaseline = true\n'
                     '[[targets]]\ntask = "mewslix"\nlangs = ["de"]\n')
    plan = build_plan(load_study(study))
    assert plan.study.suite == "xtreme-r"
    assert any("mewslix" in line for line in plan.missing_data)


def test_an_unknown_suite_is_a_one_line_error_naming_the_field(tmp_path):
    from xstilts.study import load_study

    study = tmp_path / "study.toml"
    study.write_text('name = "m"\nmodel = "x"\noutput_dir = "runs"\nseeds = [1]\nsuite = "xtreme-s"\n'
                     '[orders]\nbaseline = true\n[[targets]]\ntask = "xnli"\n')
    with pytest.raises(Exception) as error:
        load_study(study)
    message = str(error.value)
    assert "suite" in message and "xtreme-r" in message and "xtreme-s" in message
    assert len(message.strip().splitlines()) == 1


# ---------------------------------------------------------------- score-folder --suite xtreme-r


def test_score_folder_for_xtreme_r(shared_data, tmp_path):
    from typer.testing import CliRunner

    from xstilts.cli import app

    task = get_task("xcopa")
    gold = {}
    for lang in ("et", "en"):
        examples = load_examples(task, lang, "test", shared_data)
        gold[lang] = [example.label for example in examples]
        write_predictions(task, tmp_path / "pred", "test", lang, [0] * len(examples))
    summary = score_folder(tmp_path / "pred", shared_data, suite="xtreme-r")
    et = 100 * sum(label == 0 for label in gold["et"]) / len(gold["et"])
    assert summary["suite"] == "xtreme-r"
    assert summary["tasks"]["xcopa"]["languages"]["et"]["accuracy"] == pytest.approx(et)
    # English is scored but is not one of XTREME-R's XCOPA languages: the average is et's alone.
    assert summary["tasks"]["xcopa"]["score"] == pytest.approx(et)
    assert summary["tasks"]["xcopa"]["missing_languages"] == [lang for lang in XTREME_R_LANGUAGES["xcopa"].split(",")
                                                              if lang != "et"]
    assert summary["xtreme_score"] is None
    result = CliRunner().invoke(app, ["score-folder", "--pred", str(tmp_path / "pred"), "--gold", str(shared_data),
                                      "--suite", "xtreme-r"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tasks"]["xcopa"]["score"] == pytest.approx(et)
    bad = CliRunner().invoke(app, ["score-folder", "--pred", str(tmp_path / "pred"), "--gold", str(shared_data),
                                   "--suite", "xtreme-s"])
    assert bad.exit_code != 0 and "known suites: xtreme, xtreme-r" in str(bad.exception) + bad.output


# ---------------------------------------------------------------- XCOPA as a target

XCOPA_STUDY = """\
name = "xcopa_target"
model = "multilingual-e5-small"
output_dir = "runs"
seeds = [1]
suite = "xtreme-r"

[hparams]
max_steps = 2

[stages.siqa]
tasks = [{ task = "siqa", lang = "en", split = "dev", slice = "[:40]", dev_slice = "[40:60]" }]

[orders]
singles = true
baseline = true

[[targets]]
task = "xcopa"
eval_slice = "[:20]"
train = { split = "train", slice = "[:40]", dev_slice = "[:20]" }
"""


def test_xcopa_target_plans_on_the_shared_data(shared_data, tmp_path, monkeypatch):
    from xstilts.study import build_plan, load_study
    from xstilts.study.plan import is_zero_shot

    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    study = tmp_path / "study.toml"
    study.write_text(XCOPA_STUDY)
    plan = build_plan(load_study(study), data_dir_override=shared_data)
    assert plan.missing_data == []
    targets = [node for node in plan.train_nodes if node.is_target]
    intermediate = [node for node in plan.train_nodes if not node.is_target]
    # SIQa once; XCOPA fine-tuned after it and on the base model (the baseline).
    assert [node.label for node in intermediate] == ["siqa"] and len(targets) == 2
    assert {node.parent for node in targets} == {None, intermediate[0].id}
    evaluations = [node for node in plan.eval_nodes if node.task == "xcopa"]
    assert len(evaluations) == 2
    for node in evaluations:
        assert set(XTREME_R_LANGUAGES["xcopa"].split(",")) <= set(node.langs)
        assert node.split == "test"
        assert is_zero_shot(node.path)  # trained and selected on English only


def test_the_report_suite_table_uses_the_suites_languages():
    from test_results_table import _frame, _record

    from xstilts.results.filtering import condition_rows
    from xstilts.results.report import suite_table

    xtreme_panx = set(get_task("panx").suite_languages("xtreme"))
    records = [_record("panx", "baseline", 1, lang, "f1", 60.0 if lang in xtreme_panx else 20.0)
               for lang in get_task("panx").languages]
    records += [_record("xcopa", "baseline", 1, "et", "accuracy", 50.0, split="test"),
                _record("xcopa", "baseline", 1, "en", "accuracy", 100.0, split="test")]
    rows = condition_rows(_frame(records))
    rows = rows.assign(condition=rows["order_name"])
    xtreme_r = suite_table(rows, ["panx", "xcopa"], ["baseline"], "xtreme-r")
    panx = (40 * 60 + 8 * 20) / 48
    assert list(xtreme_r.columns) == ["XTREME-R score (partial: 2/10 tasks)"]
    assert xtreme_r.iloc[0, 0] == pytest.approx((panx + 50.0) / 2)  # XCOPA without English
    xtreme = suite_table(rows, ["panx", "xcopa"], ["baseline"], "xtreme")
    assert list(xtreme.columns) == ["XTREME score (partial: 1/9 tasks)"] and xtreme.iloc[0, 0] == pytest.approx(60.0)


def test_suite_notes_say_what_the_score_is_and_when_it_is_not_the_leaderboards():
    from test_results_table import _frame, _record

    from xstilts.results.filtering import condition_rows
    from xstilts.results.report import suite_notes, suite_table

    def rows_of(lareqa_training: str):
        records = [_record("lareqa", "baseline", 1, "de", "map_at_20", 30.0, split="test"),
                   _record("xcopa", "baseline", 1, "et", "accuracy", 50.0, split="test")]
        records[0]["training"] = lareqa_training
        rows = condition_rows(_frame(records))
        return rows.assign(condition=rows["order_name"])

    fine_tuned = rows_of('[{"node": "n1", "label": "lareqa:squad_retrieval", "is_target": true}]')
    notes = suite_notes(fine_tuned, ["lareqa", "xcopa"], "xtreme-r")
    assert len(notes) == 1 and "evaluate.py cannot compute this overall score" in notes[0]
    assert list(suite_table(fine_tuned, ["lareqa", "xcopa"], ["baseline"], "xtreme-r").columns) == [
        "XTREME-R score (partial: 2/10 tasks)"]
    encoder = rows_of("[]")
    (_, caveat) = suite_notes(encoder, ["lareqa", "xcopa"], "xtreme-r")
    assert "not comparable with the XTREME-R leaderboard: LAReQA is scored from the encoder" in caveat
    assert list(suite_table(encoder, ["lareqa", "xcopa"], ["baseline"], "xtreme-r").columns) == [
        "XTREME-R score (partial: 2/10 tasks; not comparable with the XTREME-R leaderboard)"]
    # XTREME has no such note, and Mewsli-X's released data is never the paper's.
    assert suite_notes(encoder, ["xcopa"], "xtreme") == []
    assert "Mewsli-X: the released Mewsli-X data is not the paper's" in " ".join(
        suite_notes(rows_of("[]").assign(task="mewslix", target="mewslix"), ["mewslix"], "xtreme-r"))
