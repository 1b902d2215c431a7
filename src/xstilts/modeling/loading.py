"""Loading the pretrained encoder and its tokenizer: offline names, local folders or Hugging Face ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from xstilts.errors import ConfigError
from xstilts.modeling.offline_e5 import MODEL_NAME as OFFLINE_E5, prepare_model

OFFLINE_MODELS = (OFFLINE_E5,)


def resolve_model(name_or_path: str) -> str:
    """An offline model name -> its prepared folder; a local folder -> itself; else a hub id, unchanged."""
    if name_or_path in OFFLINE_MODELS:
        return str(prepare_model(name_or_path))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return str(path)
    if name_or_path.startswith(("/", "./", "../", "~")):
        raise ConfigError(f"model: local folder {name_or_path} not found")
    return name_or_path


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "sentencepiece.bpe.model",
                    "vocab.txt")
_TOKENIZERS: dict[str, object] = {}


def load_tokenizer(name_or_path: str):
    """The model's tokenizer, loaded once per process for identical tokenizer files.

    Every stage model carries a copy of the same tokenizer; parsing XLM-R's 17 MB tokenizer.json
    takes seconds, so copies with the same bytes share one (read-only) tokenizer object.
    """
    from transformers import AutoTokenizer

    resolved = resolve_model(name_or_path)
    key = _tokenizer_key(resolved)
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = AutoTokenizer.from_pretrained(resolved)
    return _TOKENIZERS[key]


def _tokenizer_key(resolved: str) -> str:
    folder = Path(resolved)
    if not folder.is_dir():
        return resolved  # a hub id
    digest = hashlib.sha256()
    for name in _TOKENIZER_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_encoder(name_or_path: str, dtype: torch.dtype | None = None):
    """The bare encoder (AutoModel) in an explicit dtype; call it with output_hidden_states=True for
    the per-layer states (index 0 is the embedding output).

    transformers 5 loads weights in their saved dtype, and half precision on the CPU trains many
    times slower, so the default is float32 everywhere. bfloat16 is for GPUs (and for inference on
    CPUs with native bf16, about 2x faster there); float16 is refused on the CPU.
    """
    from transformers import AutoModel

    resolved = resolve_model(name_or_path)
    # A checkpoint without pooler weights (the offline e5) must not get a randomly initialised one.
    extra = {"add_pooling_layer": False} if _lacks_pooler(resolved) else {}
    return AutoModel.from_pretrained(resolved, dtype=encoder_dtype(dtype), **extra)


def encoder_dtype(dtype: torch.dtype | None) -> torch.dtype:
    """float32 unless asked otherwise (never the checkpoint's saved dtype); float16 only on a GPU."""
    if dtype is None:
        return torch.float32
    if not dtype.is_floating_point:
        raise ConfigError(f"dtype: {dtype} is not a floating-point type")
    gpu = torch.cuda.is_available()
    if dtype == torch.float16 and not gpu:
        raise ConfigError("dtype: float16 needs a GPU; on the CPU use float32 (or bfloat16 where the CPU has it)")
    if dtype == torch.bfloat16 and gpu and not torch.cuda.is_bf16_supported():
        raise ConfigError("dtype: this GPU does not support bfloat16; use float16 or float32")
    return dtype


def default_retrieval_layer(num_layers: int) -> int:
    """round(7/12 of the depth), halves rounded up: 14 for 24-layer XLM-R large (the XTREME layer), 7 for 12."""
    if num_layers < 1:
        raise ConfigError(f"num_layers: expected a positive layer count, got {num_layers}")
    return (7 * num_layers + 6) // 12


def _lacks_pooler(resolved: str) -> bool:
    """True for a local folder whose safetensors weights have no pooler (hub ids: unknown, so False)."""
    folder = Path(resolved)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        names = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
    elif (folder / "model.safetensors").is_file():
        from safetensors import safe_open

        with safe_open(str(folder / "model.safetensors"), "np") as weights:
            names = list(weights.keys())
    else:
        return False
    return not any(".pooler." in f".{name}" for name in names)
