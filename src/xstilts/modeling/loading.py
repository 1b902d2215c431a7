"""Loading the pretrained encoder and its tokenizer: offline names, local folders or Hugging Face ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from xstilts.errors import ConfigError
from xstilts.modeling.offline_e5.build import prepare_model
from xstilts.modeling.offline_e5.source import OFFLINE_MODELS

def resolve_model(name_or_path: str) -> str:
    """An offline model name -> its prepared folder; a local folder -> itself; else a hub id, unchanged."""
    if name_or_path in OFFLINE_MODELS:
        return str(prepare_model(name_or_path))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        check_model_folder(path)
        return str(path)
    if name_or_path.startswith(("/", "./", "../", "~")) or path.exists():
        raise ConfigError(f"model: local folder {name_or_path} not found")
    check_hub_model(name_or_path)
    return name_or_path


_CHECKED: set[tuple[str, float]] = set()


def check_model_folder(folder: Path) -> None:
    """A model folder is usable before anything loads it: config.json parses, every weights file
    is complete (a safetensors header's byte count equals the file's), and the embedding and layer
    shapes agree with the config. Raises ConfigError naming the file."""
    folder = Path(folder)
    config_path = folder / "config.json"
    key = (str(folder.resolve()), config_path.stat().st_mtime if config_path.is_file() else 0.0)
    if key in _CHECKED:
        return
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: missing (model folder {folder} has no config.json)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ConfigError(f"{config_path}: not valid JSON ({error}); the file is damaged or truncated") from None
    if not isinstance(config, dict) or "model_type" not in config:
        raise ConfigError(f"{config_path}: no 'model_type': not a Hugging Face model config")
    shards = sorted(folder.glob("*.safetensors"))
    if not shards and not any((folder / name).is_file() for name in ("pytorch_model.bin", "model.safetensors.index.json")):
        raise ConfigError(f"{folder}: no weights file (model.safetensors or pytorch_model.bin)")
    shapes: dict[str, list[int]] = {}
    for shard in shards:
        shapes.update(_safetensors_shapes(shard))
    _check_shapes(config, shapes, config_path)
    _CHECKED.add(key)


def _safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors header, after checking the file holds every byte it declares."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ConfigError(f"{path}: truncated ({size} bytes): not a complete safetensors file")
        header_size = int.from_bytes(head, "little")
        if header_size > size - 8:
            raise ConfigError(f"{path}: truncated ({size} bytes, its header alone declares {header_size})")
        try:
            header = json.loads(handle.read(header_size))
        except (ValueError, UnicodeDecodeError):
            raise ConfigError(f"{path}: unreadable safetensors header: the file is damaged") from None
    end = max((entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"), default=0)
    if 8 + header_size + end != size:
        raise ConfigError(f"{path}: truncated or damaged ({size} bytes, its header declares {8 + header_size + end})")
    return {name: entry["shape"] for name, entry in header.items() if name != "__metadata__"}


def _check_shapes(config: dict, shapes: dict[str, list[int]], config_path: Path) -> None:
    vocab, hidden = config.get("vocab_size"), config.get("hidden_size")
    for name, shape in shapes.items():
        if name.endswith("word_embeddings.weight") and vocab and hidden and list(shape) != [vocab, hidden]:
            raise ConfigError(f"{config_path}: vocab_size {vocab} x hidden_size {hidden} does not match the weights' "
                              f"{name} of shape {shape}")
    layers = {int(part) for name in shapes for part in _layer_numbers(name)}
    expected = config.get("num_hidden_layers")
    if layers and expected and max(layers) + 1 != expected:
        raise ConfigError(f"{config_path}: num_hidden_layers {expected} but the weights hold {max(layers) + 1} layers")


def _layer_numbers(name: str) -> list[str]:
    parts = name.split(".")
    return [parts[i + 1] for i, part in enumerate(parts[:-1]) if part == "layer" and parts[i + 1].isdigit()]


def check_hub_model(name: str) -> None:
    """A hub id must be in the local Hugging Face cache or the hub must answer, decided in seconds
    (not after a minute of retries)."""
    import os
    import socket

    try:
        from huggingface_hub import try_to_load_from_cache

        cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # not a valid repo id
        raise ConfigError(f"model: {name!r} is not a local folder, an offline model name "
                          f"({', '.join(OFFLINE_MODELS)}) or a Hugging Face id") from None
    if cached:
        return
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    reachable = False
    if not offline:
        try:
            socket.create_connection(("huggingface.co", 443), timeout=3).close()
            reachable = True
        except OSError:
            pass
    if not reachable:
        raise ConfigError(f"model: {name!r} is not a local folder, an offline model name ({', '.join(OFFLINE_MODELS)}) "
                          "or a model in the Hugging Face cache, and the hub cannot be reached")


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
