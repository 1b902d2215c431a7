"""`data check`: every task/language/split under a directory, counted; problems collected."""

import io

import pytest
from rich.console import Console

from xstilts.errors import MissingDataError
from xstilts.tasks.data_check import check_data_dir, render_report


@pytest.fixture(scope="module")
def shared_report(shared_data):
    return check_data_dir(shared_data)


def langs(report, task, split):
    return {e.lang for e in report.entries if e.task == task and e.split == split}


def test_shared_data_is_listed_with_counts(shared_report):
    report = shared_report
    assert report.problems == []
    assert langs(report, "xnli", "dev") == set("ar bg de el en es fr hi ru sw th tr ur vi zh".split())
    assert {report.count("xnli", lang, "dev") for lang in langs(report, "xnli", "dev")} == {2490}
    assert langs(report, "pawsx", "dev") == set("de en es fr ja ko zh".split())
    assert langs(report, "pawsx", "test") == {"de", "zh"}
    assert report.count("pawsx", "zh", "test") == 2000
    assert len(langs(report, "panx", "dev")) == 47 and langs(report, "panx", "train") == {"en"}
    assert (report.count("panx", "de", "dev"), report.count("panx", "en", "train")) == (10000, 20000)
    assert report.count("udpos", "en", "dev") == 2157 and report.count("udpos", "de", "test") == 977
    assert langs(report, "xquad", "test") == set("ar de el en es hi ro ru th tr vi zh".split())
    assert {report.count("xquad", lang, "test") for lang in langs(report, "xquad", "test")} == {1190}
    assert len(langs(report, "mlqa", "dev")) == 7 and report.count("mlqa", "en", "dev") == 1148
    assert len(langs(report, "tydiqa", "dev")) == 9 and report.count("tydiqa", "en", "train") == 3696
    assert report.count("bucc2018", "zh", "dev") == 257  # gold pairs
    assert len(langs(report, "tatoeba", "test")) == 41
    assert report.count("tatoeba", "de", "test") == 1000 and report.count("tatoeba", "jv", "test") == 205
    assert len(langs(report, "xcopa", "test")) == 12 and report.count("xcopa", "en", "train") == 400
    assert (report.count("csqa", "en", "dev"), report.count("siqa", "en", "dev"),
            report.count("cosmosqa", "en", "dev")) == (1221, 1954, 2985)


def test_entries_mark_languages_outside_the_task(shared_report):
    # Romanian is an XQuAD language of XTREME-R, not of LAReQA's pool (split from the XQuAD files).
    (ro,) = [e for e in shared_report.entries if (e.task, e.lang) == ("lareqa_xquad_split", "ro")]
    assert not ro.official
    (ro,) = [e for e in shared_report.entries if (e.task, e.lang) == ("xquad", "ro")]
    assert ro.official and ro.unit == "questions"


def test_problems_are_collected_not_raised(tmp_path):
    (tmp_path / "xnli").mkdir()
    (tmp_path / "xnli/dev-de.tsv").write_text("a\tb\tneutral\nc\td\tperhaps\n", encoding="utf-8")
    (tmp_path / "xnli/dev-fr.tsv").write_text("a\tb\tneutral\n", encoding="utf-8")
    (tmp_path / "panx").mkdir()
    (tmp_path / "panx/dev-fr.tsv").write_text("Paris\tB-LOC\nest\n", encoding="utf-8")
    report = check_data_dir(tmp_path)
    assert report.count("xnli", "fr", "dev") == 1
    assert report.count("xnli", "de", "dev") is None
    assert len(report.problems) == 2
    assert any("xnli/dev-de.tsv:2: unknown label 'perhaps'" in p for p in report.problems)
    assert any("panx/dev-fr.tsv:2: expected token<TAB>tag" in p for p in report.problems)

    out = io.StringIO()
    render_report(report, Console(file=out, width=200))
    text = out.getvalue()
    assert "xnli/dev-fr.tsv" in text and "1 pairs" in text and "2 problem(s)" in text


def test_missing_directory(tmp_path):
    with pytest.raises(MissingDataError, match="does not exist"):
        check_data_dir(tmp_path / "nowhere")


def test_an_answer_start_past_the_context_is_a_problem(tmp_path):
    import json

    (tmp_path / "mlqa").mkdir()
    document = {"data": [{"title": "t", "paragraphs": [{"context": "Paris is big.", "qas": [
        {"id": "q1", "question": "Which?", "answers": [{"text": "big", "answer_start": 30}]}]}]}]}
    (tmp_path / "mlqa" / "dev-context-en-question-en.json").write_text(json.dumps(document))
    report = check_data_dir(tmp_path)
    assert len(report.problems) == 1
    assert "dev-context-en-question-en.json" in report.problems[0]
    assert "answer_start: 30 puts the answer outside its context" in report.problems[0]
