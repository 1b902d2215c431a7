"""The report's figures (matplotlib, no display): heatmaps of differences from the baseline,
contrast intervals, stage trajectories with their spread over seeds. DataFrames in, a ``Plot`` out:
its title and a drawing that is saved as PNG (for the HTML), PDF and SVG (vector, for a paper) on
demand, drawn once for all the formats asked.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

FIGURE_FORMATS = ("png", "pdf", "svg")

# Reproducible files (no creation dates; fixed SVG ids) and TrueType fonts in PDFs (venues'
# checkers reject matplotlib's default Type 3 fonts).
_METADATA = {"pdf": {"CreationDate": None}, "svg": {"Date": None}, "png": {}}
_RC = {"pdf.fonttype": 42, "svg.hashsalt": "xstilts"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass(eq=False)
class Plot:
    """A figure: its human title and ``draw`` (a new matplotlib figure each call), saved as bytes
    per format on demand and kept."""

    title: str
    draw: Callable[[], Any] = field(repr=False)
    _saved: dict[str, bytes] = field(default_factory=dict, repr=False)

    def save(self, *formats: str) -> dict[str, bytes]:
        """The figure in each of ``formats`` (png, pdf, svg), drawn once for those not saved yet."""
        unknown = [f for f in formats if f not in FIGURE_FORMATS]
        if unknown:
            raise ValueError(f"figure formats are {', '.join(FIGURE_FORMATS)}, not {', '.join(unknown)}")
        missing = [f for f in dict.fromkeys(formats) if f not in self._saved]
        if missing:
            plt = _pyplot()
            with plt.rc_context(_RC):
                figure = self.draw()
                try:
                    for fmt in missing:
                        buffer = io.BytesIO()
                        figure.savefig(buffer, format=fmt, dpi=110, bbox_inches="tight", metadata=_METADATA[fmt])
                        self._saved[fmt] = buffer.getvalue()
                finally:
                    plt.close(figure)
        return {fmt: self._saved[fmt] for fmt in formats}

    @property
    def png(self) -> bytes:
        return self.save("png")["png"]


def difference_heatmap(differences: pd.DataFrame, title: str, unit: str) -> Plot:
    """Rows: conditions, columns: languages (+ avg); cells: mean difference from the baseline."""
    def draw():
        plt = _pyplot()
        values = differences.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        limit = max(1e-9, float(np.abs(finite).max())) if finite.size else 1.0
        figure, axes = plt.subplots(figsize=(1.2 + 0.8 * values.shape[1], 1.0 + 0.5 * values.shape[0]))
        image = axes.imshow(np.ma.masked_invalid(values), cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        axes.set_xticks(range(values.shape[1]), list(differences.columns))
        axes.set_yticks(range(values.shape[0]), list(differences.index))
        for (i, j), value in np.ndenumerate(values):
            if math.isfinite(value):
                axes.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=8,
                          color="white" if abs(value) > 0.6 * limit else "black")
        figure.colorbar(image, ax=axes, label=f"difference from baseline ({unit})")
        axes.set_title(title)
        return figure

    return Plot(title, draw)


def contrast_intervals(contrasts: pd.DataFrame, title: str, unit: str) -> Plot:
    """One horizontal interval per (contrast, language): mean difference A - B and its interval
    (``ci_low``/``ci_high``, at the level that agrees with the adjusted p)."""
    def draw():
        plt = _pyplot()
        labels = [f"{row.contrast} [{row.lang}]" for row in contrasts.itertuples()]
        figure, axes = plt.subplots(figsize=(7, 0.8 + 0.35 * len(labels)))
        positions = np.arange(len(labels))[::-1]
        low = (contrasts["mean_difference"] - contrasts["ci_low"]).clip(lower=0).fillna(0)
        high = (contrasts["ci_high"] - contrasts["mean_difference"]).clip(lower=0).fillna(0)
        colors = ["black" if lang == "avg" else "tab:blue" for lang in contrasts["lang"]]
        for x, y, lo, hi, color in zip(contrasts["mean_difference"], positions, low, high, colors):
            axes.errorbar([x], [y], xerr=[[lo], [hi]], fmt="none", ecolor=color, capsize=3)
        axes.scatter(contrasts["mean_difference"], positions, c=colors, zorder=3)
        axes.axvline(0, color="grey", linewidth=0.8)
        axes.set_yticks(positions, labels)
        axes.set_xlabel(f"A - B ({unit}); interval at the multiplicity-adjusted level")
        axes.set_title(title)
        return figure

    return Plot(title, draw)


def stage_trajectories(summary: pd.DataFrame, points: pd.DataFrame, title: str, unit: str) -> Plot:
    """One line per order through the mean score after 0, 1, ... of its stages, with every seed's
    point and +- one sample std over seeds. Orders that share their first stages overlap there, so
    each line is shifted sideways a little to keep its points visible."""
    def draw():
        plt = _pyplot()
        figure, axes = plt.subplots(figsize=(7, 4.2))
        orders = list(dict.fromkeys(summary["order"]))
        width = 0.25
        for index, order in enumerate(orders):
            offset = (index - (len(orders) - 1) / 2) * width / max(1, len(orders) - 1) if len(orders) > 1 else 0.0
            line = summary[summary["order"] == order].sort_values("after_stages")
            seeds = points[points["order"] == order]
            color = f"C{index % 10}"
            axes.errorbar(line["after_stages"] + offset, line["mean"], yerr=line["std"].fillna(0), marker="o",
                          capsize=3, color=color, label=order)
            axes.scatter(seeds["after_stages"] + offset, seeds["value"], s=10, alpha=0.35, color=color)
        steps = sorted(set(summary["after_stages"]))
        axes.set_xticks(steps, ["none" if step == 0 else f"after stage {step}" for step in steps])
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
        return figure

    return Plot(title, draw)
