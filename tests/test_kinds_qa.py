"""Extractive-QA adapter on real XQuAD / MLQA / TyDiQA questions with the real XLM-R tokenizer."""

from __future__ import annotations

import dataclasses
import re
import string
from pathlib import Path

import numpy as np
import pytest
import torch

from xstilts.errors import ConfigError
from xstilts.modeling.kinds.base import FeatureSettings
from xstilts.modeling.kinds.qa import CLS_INDEX, QAAdapter
from xstilts.tasks.readers.squad import squad_json
from xstilts.tasks.types import Answer, QAExample

QA_SETTINGS = FeatureSettings(max_length=384, doc_stride=128, max_query_length=64)
SHORT_WINDOWS = FeatureSettings(max_length=128, doc_stride=32, max_query_length=64)  # forces several windows


@pytest.fixture(scope="module")
def tokenizer(xlmr_tokenizer_file):
    from transformers import XLMRobertaTokenizer

    return XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_file))


def read(shared_data: Path, relative: str) -> list[QAExample]:
    return squad_json(shared_data / relative, "xx")


def squad_normalize(text: str) -> str:
    text = "".join(char for char in text.lower() if char not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def oracle_logits(features: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(start, end) logits with +10 on each window's training label: the gold start/end tokens, or
    CLS in windows without the answer."""
    logits = []
    for row in features:
        start, end = np.zeros(len(row["input_ids"])), np.zeros(len(row["input_ids"]))
        start[row["start_positions"]] = end[row["end_positions"]] = 10.0
        logits.append((start, end))
    return logits


def context_tokens(row: dict) -> list[int]:
    return [index for index, span in enumerate(row["offset_mapping"]) if span is not None]


# ---------------------------------------------------------------- featurize


def test_windows_overlap_by_doc_stride_and_mark_only_context_offsets(shared_data, tokenizer):
    """The ``overlap`` mode (HF run_qa): consecutive windows share doc_stride context tokens."""
    settings = dataclasses.replace(SHORT_WINDOWS, doc_stride_mode="overlap")
    examples = read(shared_data, "xquad/xquad.en.json")[:40]
    features = QAAdapter().featurize(examples, tokenizer, None, settings)
    by_example: dict[int, list[dict]] = {}
    for row in features:
        by_example.setdefault(row["example_index"], []).append(row)
    assert sorted(by_example) == list(range(len(examples)))
    assert max(len(rows) for rows in by_example.values()) >= 3

    for index, rows in by_example.items():
        question_pieces = len(tokenizer(examples[index].question, add_special_tokens=False)["input_ids"])
        for row in rows:
            assert len(row["input_ids"]) <= SHORT_WINDOWS.max_length
            assert row["input_ids"][CLS_INDEX] == tokenizer.cls_token_id
            assert row["attention_mask"] == [1] * len(row["input_ids"])
            context = context_tokens(row)
            # <s> question </s></s> context </s>: exactly the context tokens carry offsets
            assert context == list(range(question_pieces + 3, len(row["input_ids"]) - 1))
        for before, after in zip(rows, rows[1:]):
            overlap = SHORT_WINDOWS.doc_stride
            tail = [before["offset_mapping"][i] for i in context_tokens(before)[-overlap:]]
            head = [after["offset_mapping"][i] for i in context_tokens(after)[:overlap]]
            assert tail == head
        # the windows together cover the whole context
        assert rows[0]["offset_mapping"][context_tokens(rows[0])[0]][0] <= 1
        assert rows[-1]["offset_mapping"][context_tokens(rows[-1])[-1]][1] == len(examples[index].context.rstrip())


def test_windows_start_doc_stride_tokens_apart_as_in_xtreme(shared_data, tokenizer):
    """Default ``step`` mode, XTREME's/jiant's SQuAD featurisation: window k starts at context
    token k * doc_stride, so a context of C tokens with R context tokens per window gives
    1 + ceil((C - R) / doc_stride) windows."""
    examples = read(shared_data, "xquad/xquad.en.json")[:40]
    features = QAAdapter().featurize(examples, tokenizer, None, SHORT_WINDOWS)
    stride = SHORT_WINDOWS.doc_stride
    by_example: dict[int, list[dict]] = {}
    for row in features:
        by_example.setdefault(row["example_index"], []).append(row)
    assert sorted(by_example) == list(range(len(examples)))
    for index, rows in by_example.items():
        example = examples[index]
        question = len(tokenizer(example.question, add_special_tokens=False)["input_ids"])
        room = SHORT_WINDOWS.max_length - question - 4  # <s> q </s></s> c </s>
        context_length = len(tokenizer(example.context, add_special_tokens=False)["input_ids"])
        assert len(rows) == 1 + max(0, -(-(context_length - room) // stride))
        for before, after in zip(rows, rows[1:]):
            assert after["offset_mapping"][context_tokens(after)[0]] == \
                before["offset_mapping"][context_tokens(before)[stride]]
    assert max(len(rows) for rows in by_example.values()) >= 3


def test_token_type_ids_are_kept_for_models_that_use_them(tmp_path):
    """mBERT-style tokenizers return token types: question 0, context 1, and they reach the encoder."""
    from transformers import BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "who", "is", "here", "anna", "was", "?"]))
    bert = BertTokenizerFast(vocab_file=str(vocab))
    example = QAExample("q1", "who is here ?", "anna was here", (Answer("anna", 0),))
    (row,) = QAAdapter().featurize([example], bert, None, FeatureSettings(max_length=32, doc_stride=8,
                                                                          max_query_length=16))
    assert row["token_type_ids"] == [0] * 6 + [1] * 4  # [CLS] who is here ? [SEP] | anna was here [SEP]
    seen = {}

    class Encoder(torch.nn.Module):
        def forward(self, **inputs):
            seen.update(inputs)
            return type("Out", (), {"last_hidden_state": torch.zeros(1, len(row["input_ids"]), 4)})()

    batch = {name: torch.tensor([row[name]]) for name in ("input_ids", "attention_mask", "token_type_ids")}
    QAAdapter().forward(Encoder(), torch.nn.Linear(4, 2), batch)
    assert torch.equal(seen["token_type_ids"], batch["token_type_ids"])


def test_training_labels_are_the_smallest_token_span_around_the_first_answer(shared_data, tokenizer):
    examples = read(shared_data, "xquad/xquad.de.json")[:200]
    features = QAAdapter().featurize(examples, tokenizer, None, SHORT_WINDOWS)
    labelled = set()
    for row in features:
        answer = examples[row["example_index"]].answers[0]
        start_char, end_char = answer.start, answer.start + len(answer.text)
        offsets, context = row["offset_mapping"], context_tokens(row)
        start, end = row["start_positions"], row["end_positions"]
        window_holds_answer = offsets[context[0]][0] <= start_char and offsets[context[-1]][1] >= end_char
        if not window_holds_answer:
            assert (start, end) == (CLS_INDEX, CLS_INDEX)
            continue
        labelled.add(row["example_index"])
        assert context[0] <= start <= end <= context[-1]
        assert offsets[start][0] <= start_char and offsets[end][1] >= end_char
        assert start == context[-1] or offsets[start + 1][0] > start_char
        assert end == context[0] or offsets[end - 1][1] < end_char
    assert len(labelled) == len(examples)


def test_unanswerable_and_empty_answers_point_at_cls(shared_data, tokenizer):
    example = read(shared_data, "xquad/xquad.en.json")[0]
    unanswerable = dataclasses.replace(example, guid="no-answer", answers=(), is_impossible=True)
    empty = dataclasses.replace(example, guid="empty", answers=(Answer("", 0),))
    for row in QAAdapter().featurize([unanswerable, empty], tokenizer, None, QA_SETTINGS):
        assert (row["start_positions"], row["end_positions"]) == (CLS_INDEX, CLS_INDEX)


def test_long_questions_are_cut_to_max_query_length(shared_data, tokenizer):
    example = read(shared_data, "xquad/xquad.en.json")[0]
    long_question = dataclasses.replace(example, question="  " + " ".join([example.question] * 10))
    rows = QAAdapter().featurize([example, long_question], tokenizer, None, QA_SETTINGS)
    question_lengths = {row["example_index"]: context_tokens(row)[0] - 3 for row in rows}
    assert question_lengths[0] == len(tokenizer(example.question, add_special_tokens=False)["input_ids"])
    assert question_lengths[1] == QA_SETTINGS.max_query_length


def test_stride_that_leaves_no_room_for_context_is_a_config_error(tokenizer):
    with pytest.raises(ConfigError, match="doc_stride=128 must be below"):
        QAAdapter().featurize([], tokenizer, None, FeatureSettings(max_length=128, doc_stride=128))


def test_features_survive_an_arrow_round_trip(shared_data, tokenizer):
    import datasets

    examples = read(shared_data, "xquad/xquad.zh.json")[:30]
    adapter = QAAdapter()
    features = adapter.featurize(examples, tokenizer, None, SHORT_WINDOWS)
    stored = datasets.Dataset.from_list(features).to_list()
    assert stored == features
    assert adapter.decode(oracle_logits(stored), stored, examples, None) == \
        adapter.decode(oracle_logits(features), features, examples, None)


# ---------------------------------------------------------------- decode


@pytest.mark.parametrize("relative, min_em", [
    ("xquad/xquad.en.json", 0.995),  # measured 0.9992 (384 and 128 tokens)
    ("xquad/xquad.de.json", 0.99),  # 0.9933: 6 answers longer than 30 tokens, 2 end inside a piece
    ("xquad/xquad.zh.json", 0.98),  # 0.9857: pieces such as "年的" glue the answer to the next character
    ("mlqa/dev-context-en-question-en.json", 0.985),  # 0.9904
])
@pytest.mark.parametrize("settings", [QA_SETTINGS, SHORT_WINDOWS], ids=["384", "128"])
def test_oracle_logits_decode_to_the_gold_answer(shared_data, tokenizer, relative, min_em, settings):
    examples = read(shared_data, relative)
    adapter = QAAdapter()
    features = adapter.featurize(examples, tokenizer, None, settings)
    predictions = adapter.decode(oracle_logits(features), features, examples, None)

    assert list(predictions) == [example.guid for example in examples]
    golds = [example.answers[0].text for example in examples]
    em = np.mean([squad_normalize(predictions[e.guid]) == squad_normalize(g) for e, g in zip(examples, golds)])
    exact = np.mean([predictions[e.guid] == g for e, g in zip(examples, golds)])
    assert em >= min_em
    assert exact >= 0.92  # the rest differ in punctuation glued to a piece, e.g. "(118)" for "118"


def test_answers_found_in_later_windows_decode_exactly(shared_data, tokenizer):
    # The TyDiQA copy reuses question ids across questions: give each its own id to key predictions.
    examples = [dataclasses.replace(example, guid=str(i))
                for i, example in enumerate(read(shared_data, "tydiqa/tydiqa.goldp.en.train.json")[:1500])]
    adapter = QAAdapter()
    features = adapter.featurize(examples, tokenizer, None, SHORT_WINDOWS)
    predictions = adapter.decode(oracle_logits(features), features, examples, None)
    windows: dict[int, list[dict]] = {}
    for row in features:
        windows.setdefault(row["example_index"], []).append(row)
    # answers outside the first window that the decoder may produce (at most 30 tokens)
    late = [example for index, example in enumerate(examples)
            if windows[index][0]["start_positions"] == CLS_INDEX
            and any(row["start_positions"] != CLS_INDEX and row["end_positions"] - row["start_positions"] < 30
                    for row in windows[index])]
    assert len(late) > 100
    golds = [example.answers[0].text for example in late]
    # the rest carry punctuation glued to a piece: "April 2008." for "April 2008"
    assert np.mean([predictions[e.guid] == gold for e, gold in zip(late, golds)]) >= 0.85
    assert np.mean([squad_normalize(predictions[e.guid]) == squad_normalize(gold)
                    for e, gold in zip(late, golds)]) >= 0.97


def one_window(shared_data, tokenizer) -> tuple[QAExample, dict]:
    example = read(shared_data, "xquad/xquad.en.json")[0]
    (row,) = QAAdapter().featurize([example], tokenizer, None, QA_SETTINGS)
    return example, row


@pytest.mark.parametrize("trap", ["question token", "padding", "too long", "end before start"])
def test_decode_skips_invalid_spans(shared_data, tokenizer, trap):
    example, row = one_window(shared_data, tokenizer)
    context, offsets = context_tokens(row), row["offset_mapping"]
    assert len(context) > 80
    logits = np.zeros((2, len(row["input_ids"]) + 5))  # five padded positions
    logits[0, context[2]], logits[1, context[3]] = 5.0, 5.0  # the only valid candidate
    # a higher-scoring invalid pair; every mix of it with the valid pair is invalid too
    start, end = {"question token": (1, 2), "padding": (-2, -1), "too long": (context[40], context[40] + 30),
                  "end before start": (context[60], context[50])}[trap]
    logits[0, start], logits[1, end] = 50.0, 50.0
    answer = QAAdapter().decode([(logits[0], logits[1])], [row], [example], None)[example.guid]
    assert answer == example.context[offsets[context[2]][0]:offsets[context[3]][1]].strip()


def test_max_answer_length_counts_tokens(shared_data, tokenizer):
    example, row = one_window(shared_data, tokenizer)
    context, offsets = context_tokens(row), row["offset_mapping"]
    logits = np.zeros((2, len(row["input_ids"])))
    logits[0, context[0]], logits[1, context[29]] = 9.0, 9.0
    assert QAAdapter().decode([logits], [row], [example], None)[example.guid] == \
        example.context[offsets[context[0]][0]:offsets[context[29]][1]].strip()
    assert QAAdapter(max_answer_length=29).decode([logits], [row], [example], None)[example.guid] != \
        example.context[offsets[context[0]][0]:offsets[context[29]][1]].strip()


def test_squad_v2_predicts_empty_when_no_answer_wins(shared_data, tokenizer):
    example = dataclasses.replace(read(shared_data, "xquad/xquad.en.json")[1], answers=(), is_impossible=True)
    features = QAAdapter().featurize([example], tokenizer, None, SHORT_WINDOWS)
    assert len(features) >= 2
    v2, v1 = QAAdapter(allow_no_answer=True), QAAdapter()
    assert v2.decode(oracle_logits(features), features, [example], None) == {example.guid: ""}
    assert v1.decode(oracle_logits(features), features, [example], None)[example.guid] != ""

    # null score = the SMALLEST CLS score over the windows: one confident window is not enough
    logits = [np.zeros((2, len(row["input_ids"]))) for row in features]
    logits[0][:, CLS_INDEX] = 10.0
    span = context_tokens(features[1])[3]
    logits[1][:, span] = 3.0
    span_text = example.context[slice(*features[1]["offset_mapping"][span])].strip()
    assert v2.decode(logits, features, [example], None)[example.guid] == span_text
    for window in logits:
        window[:, CLS_INDEX] = 3.5  # null 7.0 beats the span's 6.0
    assert v2.decode(logits, features, [example], None)[example.guid] == ""
    assert QAAdapter(allow_no_answer=True, null_score_diff_threshold=1.5).decode(
        logits, features, [example], None)[example.guid] == span_text


# ---------------------------------------------------------------- head and loss


def test_forward_backward_on_a_tiny_encoder(shared_data, tiny_model_dir, tokenizer):
    from transformers import AutoModel

    from xstilts.modeling.collate import PadCollator

    torch.manual_seed(0)
    encoder = AutoModel.from_pretrained(tiny_model_dir, dtype=torch.float32)
    adapter = QAAdapter()
    head = adapter.build_head(encoder.config.hidden_size, None)
    examples = read(shared_data, "xquad/xquad.en.json")[:6]
    rows = adapter.featurize(examples, tokenizer, None, SHORT_WINDOWS)[:8]
    batch = PadCollator(adapter, tokenizer.pad_token_id)(rows)
    assert set(batch) == set(adapter.model_columns) - {"token_type_ids"}  # XLM-R: no token types
    assert len({len(row["input_ids"]) for row in rows}) > 1  # padding really happened

    loss, (start_logits, end_logits) = adapter.forward(encoder, head, batch)
    assert start_logits.shape == end_logits.shape == batch["input_ids"].shape
    cross_entropy = torch.nn.functional.cross_entropy
    expected = (cross_entropy(start_logits, batch["start_positions"])
                + cross_entropy(end_logits, batch["end_positions"])) / 2
    assert torch.isfinite(loss) and torch.allclose(loss, expected)
    loss.backward()
    assert head.weight.grad.abs().sum() > 0
    assert encoder.embeddings.word_embeddings.weight.grad.abs().sum() > 0

    unlabelled = {key: batch[key] for key in ("input_ids", "attention_mask")}
    no_loss, (same_start, _) = adapter.forward(encoder, head, unlabelled)
    assert no_loss is None and torch.allclose(same_start, start_logits)

    # positions past the sequence are ignored, as in HF's QA models
    beyond = dict(batch, start_positions=batch["start_positions"].clone())
    beyond["start_positions"][0] = 10_000
    loss_beyond, _ = adapter.forward(encoder, head, beyond)
    kept = torch.arange(len(rows)) != 0
    expected = (cross_entropy(start_logits[kept], batch["start_positions"][kept])
                + cross_entropy(end_logits, batch["end_positions"])) / 2
    assert torch.allclose(loss_beyond, expected, atol=1e-6)


def test_decode_reads_the_logits_that_batched_prediction_returns(shared_data, tiny_model_dir, tokenizer):
    from xstilts.modeling.inference import predict_logits
    from xstilts.modeling.collate import PadCollator
    from xstilts.modeling.model import MultiTaskModel

    torch.manual_seed(0)
    model = MultiTaskModel.from_pretrained_encoder(tiny_model_dir)
    model.add_head("xquad", "extractive_qa")
    adapter = model.adapter("xquad")
    examples = read(shared_data, "xquad/xquad.en.json")[:12]
    features = adapter.featurize(examples, tokenizer, None, SHORT_WINDOWS)
    logits = predict_logits(model, "xquad", features, PadCollator(adapter, tokenizer.pad_token_id), 8, "cpu",
                            per_token=True)
    assert [tuple(len(part) for part in row) for row in logits] == \
        [(len(row["input_ids"]),) * 2 for row in features]
    predictions = adapter.decode(logits, features, examples, None)
    assert list(predictions) == [example.guid for example in examples]
    assert all(answer and answer in example.context for example, answer in zip(examples, predictions.values()))


def test_squad_v2_gets_the_no_answer_decoding():
    from xstilts.modeling.kinds import adapter_for_task
    from xstilts.tasks.registry import get_task

    assert adapter_for_task(get_task("squad_v2")).decoding.allow_no_answer is True
    assert adapter_for_task(get_task("xquad")).decoding.allow_no_answer is False
