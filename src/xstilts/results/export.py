"""Export a study's results store to one CSV or Parquet file (one row per stored result)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xstilts.errors import ConfigError
from xstilts.files import atomic_path
from xstilts.results.store import ResultStore

EXPORT_FORMATS = ("csv", "parquet")


def export_results(store: ResultStore, out_path: str | Path, fmt: str = "csv") -> Path:
    """Write every result of ``store`` to ``out_path`` as ``fmt`` and return the path."""
    return export_frame(store.to_dataframe(), out_path, fmt)


def export_frame(frame: pd.DataFrame, out_path: str | Path, fmt: str = "csv") -> Path:
    """Write result rows (e.g. the current plan's, ``results.filtering``) to ``out_path`` as ``fmt``.

    The file is written beside its destination and moved over it in one step, so a reader never
    sees a half-written export.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"export format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    out_path = Path(out_path)
    suffix = out_path.suffix.lstrip(".").lower()
    if suffix in EXPORT_FORMATS and suffix != fmt:
        raise ConfigError(f"--out {out_path}: a .{suffix} name for {fmt} data; name it .{fmt} or use --format {suffix}")
    with atomic_path(out_path) as temporary:
        if fmt == "csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False, engine="pyarrow")
    return out_path
