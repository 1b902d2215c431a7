"""Where xstilts keeps things it builds: a user cache, never the repository or ../shared."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Root of the user cache: $XSTILTS_CACHE, else $XDG_CACHE_HOME/xstilts, else ~/.cache/xstilts."""
    env = os.environ.get("XSTILTS_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xstilts"


def models_dir() -> Path:
    return cache_dir() / "models"


def features_dir() -> Path:
    """Tokenised-feature cache (Arrow), shared by every run that needs the same features."""
    return cache_dir() / "features"


def fetched_data_dir() -> Path:
    """Where `xstilts data fetch` writes when neither the study nor the user names a directory."""
    return cache_dir() / "xtreme-data"


def default_data_dir() -> Path | None:
    """$XSTILTS_DATA, else the shared XTREME data beside a checkout (../shared/xtreme-data), else
    what `xstilts data fetch` wrote to the user cache."""
    env = os.environ.get("XSTILTS_DATA")
    if env:
        return Path(env).expanduser()
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "xtreme-data"
        if candidate.is_dir():
            return candidate
    return fetched_data_dir() if fetched_data_dir().is_dir() else None
