"""Figures of a sweep, one metric each: against one parameter, its median and 5-95% of
replicates; over two, a heat map of its median in every cell of the grid (never bands pooled
over the other parameter, which would show that parameter's effect); over more, one line per
combination of the other parameters."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.compare import HIGH, LOW  # noqa: E402
from sim.headline import rounded  # noqa: E402
from sim.metrics import HOW, UNITS  # noqa: E402
from sim.output import total_unit  # noqa: E402
from sim.plots import PLAIN_TEXT, save_slide, slide_figure  # noqa: E402

MAX_LINES = 12   # lines a figure of a sweep over three or more parameters labels


def label(metric: str) -> str:
    return f"{metric} ({total_unit(UNITS.get(metric, ''), HOW.get(metric, 'mean'))})"


def line_figure(table: pd.DataFrame, parameter: str, metric: str, path: Path) -> Path:
    """A metric's median and 5-95% of replicates against the one swept parameter."""
    stats = table.groupby(parameter)[metric].agg(
        median="median", low=lambda v: np.percentile(v, LOW), high=lambda v: np.percentile(v, HIGH))
    fig, ax = slide_figure(4.5)
    ax.plot(stats.index, stats["median"], marker="o", label="median")
    ax.fill_between(stats.index, stats["low"], stats["high"], alpha=0.2,
                    label="5-95% of replicates")
    ax.set_xlabel(parameter)
    ax.set_ylabel(label(metric))
    ax.set_title(f"{metric} against {parameter}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_slide(fig, path)


def heat_map(table: pd.DataFrame, rows: str, columns: str, metric: str, path: Path) -> Path:
    """A metric's median over replicates in every cell of a two-parameter grid, written in the
    cell."""
    grid = table.groupby([rows, columns])[metric].median().unstack(columns)
    fig, ax = slide_figure(1.6 + 0.5 * max(len(grid), 3))
    image = ax.imshow(grid.to_numpy(), aspect="auto", cmap="viridis", origin="lower")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v)
                                         for v in grid.index])
    ax.set_xlabel(columns)
    ax.set_ylabel(rows)
    middle = np.nanmean(grid.to_numpy())
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        ax.text(j, i, rounded(value), ha="center", va="center", fontsize=8,
                color="black" if value > middle else "white")
    fig.colorbar(image, ax=ax, label=f"median {label(metric)}")
    ax.set_title(f"{metric}: median of replicates in each cell")
    return save_slide(fig, path)


def lines_figure(table: pd.DataFrame, parameter: str, others: list[str], metric: str,
                 path: Path) -> Path:
    """A metric's median against one parameter, a line for each combination of the others."""
    fig, ax = slide_figure(4.5)
    groups = list(table.groupby(others))
    for n, (values, part) in enumerate(groups):
        stats = part.groupby(parameter)[metric].median()
        text = ", ".join(f"{k}={v}" for k, v in zip(others, np.atleast_1d(values), strict=True))
        ax.plot(stats.index, stats.to_numpy(), marker="o", lw=1,
                label=text if n < MAX_LINES else None)
    ax.set_xlabel(parameter)
    ax.set_ylabel(label(metric))
    ax.set_title(f"{metric} against {parameter}: median, a line per setting of the others"
                 + (f" ({MAX_LINES} of {len(groups)} labelled)" if len(groups) > MAX_LINES else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_slide(fig, path)


@matplotlib.rc_context(PLAIN_TEXT)
def sweep_figures(table: pd.DataFrame, parameters: list[str], metrics, folder: Path
                  ) -> list[Path]:
    """Each metric's figure (or, over three or more parameters, one per metric and parameter)
    into `folder`; returns their paths."""
    if len(parameters) == 1:
        return [line_figure(table, parameters[0], m, folder / f"{m}.png") for m in metrics]
    if len(parameters) == 2:
        return [heat_map(table, *parameters, m, folder / f"{m}.png") for m in metrics]
    return [lines_figure(table, p, [o for o in parameters if o != p], m,
                         folder / f"{m}__{p}.png")
            for m, p in itertools.product(metrics, parameters)]
