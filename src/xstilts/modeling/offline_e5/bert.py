"""E5S1 tensors -> a Hugging Face BertModel: state-dict keys, float32 weights, the config."""

from __future__ import annotations

import numpy as np

from xstilts.modeling.offline_e5.e5s1 import E5File, E5Header, expected_shapes
from xstilts.modeling.offline_e5.source import MODEL_DESCRIPTION

_EMBEDDINGS = {"word": "word_embeddings", "pos": "position_embeddings", "type": "token_type_embeddings"}
_LAYER_PARTS = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}
_PARAMS = {"w": "weight", "b": "bias"}


def hf_key(name: str) -> str:
    """E5S1 tensor name -> HF BertModel state-dict key (l3.aln.w -> encoder.layer.3.attention.output.LayerNorm.weight)."""
    parts = name.split(".")
    if parts[0] == "emb":
        if parts[1] in _EMBEDDINGS:
            return f"embeddings.{_EMBEDDINGS[parts[1]]}.weight"
        return f"embeddings.LayerNorm.{_PARAMS[parts[2]]}"
    return f"encoder.layer.{parts[0][1:]}.{_LAYER_PARTS[parts[1]]}.{_PARAMS[parts[2]]}"


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """All weights as float32 BertModel tensors. There is no pooler: the file has none.

    The embedding matrix keeps the checkpoint's 250,037 rows (the tokenizer uses 250,002). Position
    rows are stored already shifted past XLM-R's padding offset, so BERT's 0-based positions fit.
    """
    shapes = expected_shapes(e5.header)
    return {hf_key(name): e5.array(name).reshape(shape) for name, shape in shapes.items()}


def bert_config(header: E5Header):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=header.vocab_rows, hidden_size=header.hidden, num_hidden_layers=header.layers,
        num_attention_heads=header.heads, intermediate_size=header.ffn, hidden_act="gelu",
        max_position_embeddings=header.max_positions, type_vocab_size=header.type_vocab,
        layer_norm_eps=header.layer_norm_eps, pad_token_id=header.pad, bos_token_id=header.bos,
        eos_token_id=header.eos, tokenizer_class="XLMRobertaTokenizer", architectures=["BertModel"],
        xstilts_model=MODEL_DESCRIPTION,
    )
