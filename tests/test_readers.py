"""Every reader on the real XTREME files in ../shared (exact counts from the files themselves)."""

from collections import Counter

from xstilts.tasks.readers import (
    bucc,
    conll_tagging,
    conllu,
    cosmosqa_csv,
    csqa_jsonl,
    siqa_jsonl,
    squad_json,
    tatoeba,
    tsv_classification,
    xcopa_jsonl,
)
from xstilts.tasks.catalog.panx import PANX_TAGS
from xstilts.tasks.catalog.udpos import UPOS_TAGS
from xstilts.tasks.types import Answer

NLI = ("entailment", "neutral", "contradiction")


def test_xnli_dev_german(shared_data):
    examples = tsv_classification(shared_data / "xnli/dev-de.tsv", "de", labels=NLI)
    assert len(examples) == 2490
    assert Counter(ex.label for ex in examples) == {"entailment": 830, "neutral": 830, "contradiction": 830}
    first = examples[0]
    assert first.text_a == "und er hat gesagt, Mama ich bin daheim."
    assert first.text_b == "Er rief seine Mutter an, sobald er aus dem Schulbus stieg."
    assert first.label == "neutral"
    assert len({ex.guid for ex in examples}) == 2490


def test_pawsx_labeled_test_file_with_header_and_ids(shared_data):
    examples = tsv_classification(
        shared_data / "pawsx/test-de.labeled.tsv", "de", header=True, text_a="sentence1", text_b="sentence2",
        label="label", guid="id", labels=("0", "1"),
    )
    assert len(examples) == 2000
    assert examples[0].guid == "10" and examples[0].label == "1"
    assert examples[1].text_a == "Der Tabaci River ist ein Nebenfluss des Flusses Leurda in Rumänien."


def test_panx_dev_and_train(shared_data):
    dev = conll_tagging(shared_data / "panx/dev-de.tsv", "de", strip_lang_prefix=True, labels=PANX_TAGS)
    assert len(dev) == 10000  # 9,999 blank separators and no final blank line
    assert dev[0].words == ("Anton", "Wilhelm", "von", "Zuccalmaglio", ".")
    assert dev[0].tags == ("B-PER", "I-PER", "I-PER", "I-PER", "O")
    # "1:1" is a token, not a language prefix: only "de:" would be stripped
    assert any("1:1" in ex.words for ex in dev)
    train = conll_tagging(shared_data / "panx/train-en.tsv", "en", labels=PANX_TAGS)
    assert len(train) == 20000
    assert sum(len(ex.words) for ex in train) == 160394


def test_ud_conllu_counts_syntactic_words(shared_data):
    ewt = conllu(shared_data / "udpos/en_ewt-ud-dev.conllu", "en", labels=UPOS_TAGS)
    assert len(ewt) == 2001
    assert sum(len(ex.words) for ex in ewt) == 25147  # lines with an integer ID only
    assert ewt[0].words == ("From", "the", "AP", "comes", "this", "story", ":")
    assert ewt[0].tags == ("ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT")
    finnish = conllu(shared_data / "udpos/fi_tdt-ud-test.conllu", "fi", labels=UPOS_TAGS)  # has empty nodes
    assert (len(finnish), sum(len(ex.words) for ex in finnish)) == (1555, 21070)


def test_squad_json_files(shared_data):
    xquad = squad_json(shared_data / "xquad/xquad.de.json", "de")
    assert len(xquad) == 1190
    assert xquad[0].guid == "56beb4343aeaaa14008c925b"
    assert xquad[0].answers == (Answer("308", 38),)
    assert xquad[0].context[38:41] == "308"
    assert xquad[0].title == "Super_Bowl_50"
    assert len(squad_json(shared_data / "tydiqa/tydiqa.goldp.en.train.json", "en")) == 3696
    assert len(squad_json(shared_data / "tydiqa/tydiqa.goldp.en.dev.json", "en")) == 440
    assert len(squad_json(shared_data / "mlqa/dev-context-de-question-de.json", "de")) == 512


def test_every_answer_offset_points_at_its_text(shared_data):
    for example in squad_json(shared_data / "tydiqa/tydiqa.goldp.sw.dev.json", "sw"):
        for answer in example.answers:
            assert example.context[answer.start:answer.start + len(answer.text)] == answer.text


def test_tatoeba_line_aligned_pairs(shared_data):
    (german,) = tatoeba(shared_data / "tatoeba/tatoeba.deu-eng.deu", "de")
    assert (german.source_lang, german.target_lang) == ("de", "en")
    assert len(german.source) == len(german.target) == len(german.gold) == 1000
    assert german.source[0].text == "Maria sagte, sie wisse nicht, wo Tom sei."
    assert german.target[0].text == "Mary said she didn't know where Tom was."
    assert german.gold[:2] == (("0", "0"), ("1", "1"))
    (javanese,) = tatoeba(shared_data / "tatoeba/tatoeba.jav-eng.jav", "jv")
    assert javanese.source_lang == "jv" and len(javanese.gold) == 205
    (chinese,) = tatoeba(shared_data / "tatoeba/tatoeba.cmn-eng.cmn", "zh")
    assert chinese.source_lang == "zh"


def test_bucc_corpora_and_gold(shared_data):
    (sample,) = bucc(shared_data / "bucc2018/zh-en.dev.zh", "zh")
    assert (len(sample.source), len(sample.target), len(sample.gold)) == (8624, 13589, 257)
    assert sample.gold[0] == ("zh-000000057", "en-000008530")
    assert sample.source[0].id == "zh-000000001"
    assert sample.target[0].text.startswith("Coalition strategy relied on")


def test_xcopa(shared_data):
    examples = xcopa_jsonl(shared_data / "xcopa/val-et.jsonl", "et")
    assert len(examples) == 100
    assert examples[0].context == "Mees keeras kraani lahti."
    assert examples[0].question == "What happened as a result?"
    assert examples[0].choices == ("Tualett täitus veega.", "Tilast voolas vett.")
    assert examples[0].label == 1
    assert xcopa_jsonl(shared_data / "xcopa/train-en.jsonl", "en")[0].question == "What was the cause?"
    assert len(xcopa_jsonl(shared_data / "xcopa/test-qu.jsonl", "qu")) == 500


def test_english_multiple_choice_dev_sets(shared_data):
    root = shared_data / "en-intermediate"
    csqa = csqa_jsonl(root / "csqa/dev_rand_split.jsonl", "en")
    assert len(csqa) == 1221
    assert csqa[0].choices == ("bank", "library", "department store", "mall", "new york") and csqa[0].label == 0
    siqa = siqa_jsonl(root / "siqa/socialIQa_v1.4_dev.jsonl", "en")
    assert len(siqa) == 1954
    assert siqa[0].label == 2 and siqa[0].choices[2] == "Find somewhere to go"
    cosmos = cosmosqa_csv(root / "cosmosqa/valid.csv", "en")
    assert len(cosmos) == 2985
    assert Counter(ex.label for ex in cosmos) == {2: 761, 3: 751, 0: 744, 1: 729}
    assert all(len(ex.choices) == 4 for ex in cosmos)
