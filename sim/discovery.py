"""Scenario discovery (`run.py discover`, `sim.discover`): where, in the space of the uncertain
parameters, does a policy fail?

A Latin hypercube (SciPy) samples N points of the parameters' ranges (`sim.uncertain`); at each
the base scenario and the policy run paired (`sim.points`). A point fails when the policy
reduces the metric (default: overdose deaths) by less than `threshold` (default 0: where it
raises it). PRIM (Friedman & Fisher 1999; EMA Workbench's implementation) then finds boxes of
parameter space where failures concentrate, peeling a box a little at a time and so trading
coverage (the share of all failing points inside the box) for density (the share of the points
inside the box that fail). Each box is taken at the point of its peeling trajectory with the
most coverage at a density of `DENSITY` or more (else its densest); up to `MAX_BOXES` boxes, each
among the points the earlier ones left. Writes boxes.csv (each box's limits on every parameter,
coverage, density, mass), samples.csv, parameters.csv and figures: the trade-off and each box.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from scipy.stats import qmc  # noqa: E402

from sim.ensemble import EnsembleError  # noqa: E402
from sim.headline import rounded  # noqa: E402
from sim.metrics import HOW, UNITS  # noqa: E402
from sim.output import total_unit  # noqa: E402
from sim.plots import PLAIN_TEXT, save_slide, slide_figure  # noqa: E402
from sim.points import (  # noqa: E402
    outcomes,
    paired_design,
    run_points,
    samples_table,
    write_design,
)
from sim.study import _publish, check_metrics, study_store  # noqa: E402
from sim.uncertain import Uncertain  # noqa: E402
from sim.validation import ScenarioError  # noqa: E402

MAX_BOXES = 3
DENSITY = 0.8          # a box is taken where it covers most at this density or more
PRIM_THRESHOLD = 0.5   # PRIM keeps a box only if most of its points fail
MIN_POINTS = 10
FEW_FAILING = 10   # fewer failing points and a box around them says little
BOX_COLUMNS = ("box", "parameter", "low", "high", "restricted", "coverage", "density", "mass")


def latin_hypercube(uncertain: tuple[Uncertain, ...], n: int, seed: int) -> np.ndarray:
    """n points, one per row, stratified along every parameter's range."""
    unit = qmc.LatinHypercube(d=len(uncertain), seed=np.random.default_rng(seed)).random(n)
    return qmc.scale(unit, [u.low for u in uncertain], [u.high for u in uncertain])


def _prim():
    try:
        with warnings.catch_warnings():     # EMA warns about optional parallel back-ends
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError:
        raise EnsembleError("discover needs EMA Workbench: pip install -e '.[explore]'") from None
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def choose(trajectory: pd.DataFrame) -> int:
    """The row of a peeling trajectory taken as the box: the most coverage at a density of
    DENSITY or more (of equal coverage, the densest), else the densest."""
    dense = trajectory[trajectory["density"] >= DENSITY]
    if len(dense):
        return int(dense.sort_values(["coverage", "density"], ascending=False,
                                     kind="stable").index[0])
    return int(trajectory["density"].idxmax())


def find_boxes(x: pd.DataFrame, fails: np.ndarray, max_boxes: int = MAX_BOXES
               ) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """PRIM's boxes of the failing points: boxes.csv's table (a row per box and parameter:
    limits, whether the box restricts it, coverage, density, mass) and each box's peeling
    trajectory (coverage, density, mass, restricted dimensions, `chosen`). No point failing
    gives no box; every point failing, one box: all of the sampled space."""
    fails = np.asarray(fails, bool)
    if fails.all():
        whole = pd.DataFrame([x.min(), x.max()]).astype(float)
        everything = pd.DataFrame({"coverage": [1.0], "density": [1.0], "mass": [1.0],
                                   "res_dim": [0.0], "chosen": [True]})
        return _box_rows(1, whole, whole, everything.iloc[0]), [everything]
    rows, trajectories = [], []
    if fails.any():
        finder = _prim().Prim(x.astype(float), fails, threshold=PRIM_THRESHOLD)
        for number in range(1, max_boxes + 1):
            box = finder.find_box()
            if box is None or box.mean < PRIM_THRESHOLD:     # EMA's "dump box": nothing more
                break
            trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].astype(
                float)
            chosen = choose(trajectory)
            box.select(chosen)
            trajectories.append(trajectory.assign(chosen=trajectory.index == chosen))
            rows.append(_box_rows(number, box.box_lims[chosen], finder.box_init,
                                  trajectory.loc[chosen]))
            if trajectory.loc[chosen, "coverage"] >= 1:
                break
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=BOX_COLUMNS)
    return table, trajectories


def _box_rows(number: int, limits: pd.DataFrame, whole: pd.DataFrame, stats: pd.Series
              ) -> pd.DataFrame:
    """boxes.csv's rows of one box (`limits` and `whole`: rows low, high; a column per
    parameter), the parameters it restricts first."""
    rows = pd.DataFrame([{
        "box": number, "parameter": parameter, "low": float(limits[parameter].iloc[0]),
        "high": float(limits[parameter].iloc[1]),
        "restricted": bool(limits[parameter].iloc[0] > whole[parameter].iloc[0]
                           or limits[parameter].iloc[1] < whole[parameter].iloc[1]),
        "coverage": stats["coverage"], "density": stats["density"], "mass": stats["mass"]}
        for parameter in whole.columns], columns=list(BOX_COLUMNS))
    return rows.sort_values("restricted", ascending=False, kind="stable")


@matplotlib.rc_context(PLAIN_TEXT)
def tradeoff_figure(trajectories: list[pd.DataFrame], title: str, path: Path) -> Path:
    """Each box's peeling trajectory, coverage against density, coloured by how many parameters
    it restricts; the box taken marked."""
    fig, ax = slide_figure(5.5)
    if not trajectories:
        ax.text(0.5, 0.5, "no box: the policy did not fail, or failures do not concentrate",
                ha="center", va="center", transform=ax.transAxes)
    most = max([int(t["res_dim"].max()) for t in trajectories] + [1])
    for number, t in enumerate(trajectories, start=1):
        ax.plot(t["coverage"], t["density"], color="0.7", lw=0.8, zorder=1)
        points = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", vmin=0,
                            vmax=most, s=18, zorder=2)
        taken = t[t["chosen"]].iloc[0]
        ax.scatter([taken["coverage"]], [taken["density"]], marker="*", s=220, color="C3",
                   edgecolor="k", zorder=3)
        ax.annotate(f"box {number}: {int(taken['res_dim'])} parameters restricted",
                    (taken["coverage"], taken["density"]), xytext=(-10, -6 - 12 * number),
                    textcoords="offset points", fontsize=8, ha="right")
        if number == 1:
            fig.colorbar(points, ax=ax, label="parameters restricted", ticks=range(most + 1))
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage: share of all failing points inside the box")
    ax.set_ylabel("density: share of the box's points that fail")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return save_slide(fig, path)


@matplotlib.rc_context(PLAIN_TEXT)
def box_figure(x: pd.DataFrame, fails: np.ndarray, box: pd.DataFrame, number: int,
               path: Path) -> Path | None:
    """The points on a box's first two parameters (restricted first), failing ones in red, and
    the box's limits on them."""
    if x.shape[1] < 2:
        return None
    first, second = box["parameter"].iloc[:2]
    fig, ax = slide_figure(6.0)
    ax.scatter(x.loc[~fails, first], x.loc[~fails, second], s=10, color="0.6", label="succeeds")
    ax.scatter(x.loc[fails, first], x.loc[fails, second], s=12, color="C3", label="fails")
    (x0, x1), (y0, y1) = (box.iloc[i][["low", "high"]].to_numpy(float) for i in (0, 1))
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2, edgecolor="k",
                           label=f"box {number}"))
    ax.set_xlabel(first)
    ax.set_ylabel(second)
    coverage, density = box["coverage"].iloc[0], box["density"].iloc[0]
    ax.set_title(f"box {number}: coverage {coverage:.0%}, density {density:.0%} (its other "
                 "limits apply too)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_slide(fig, path)


def check_discover(n: int, threshold: float) -> None:
    if not isinstance(n, int) or n < MIN_POINTS:
        raise ScenarioError(f"--n: expected a whole number of {MIN_POINTS} or more points (PRIM "
                            f"finds boxes among them), got {n!r}")
    if not math.isfinite(threshold):
        raise ScenarioError(f"--threshold: expected a finite number, got {threshold!r}")


def discover(base, policy, n: int = 200, parameters=None, posterior: Path | None = None,
             metric: str = "overdose_deaths", threshold: float = 0.0, window: str | None = None,
             replicates: int = 1, seed: int | None = None, weeks: int | None = None,
             workers: int | None = None, scheduler: str | None = None, out: Path | None = None,
             force: bool = False, resume: bool = False, quiet: bool = True) -> pd.DataFrame:
    """Where `policy` fails against `base`: at `n` Latin-hypercube points of the uncertain
    parameters (`parameters` as for `sim.sensitivity`), each run with `replicates` paired seeds,
    the policy fails where it reduces `metric` by less than `threshold` (its total's unit);
    PRIM's boxes of those points. Returns boxes.csv's table; with `out`, writes it with
    samples.csv (each point's values, outcomes and `fails`), parameters.csv and figures there
    (`run.py discover`)."""
    check_discover(n, threshold)
    (metric,) = check_metrics((metric,))
    design = paired_design(base, policy, parameters, posterior, window, replicates, seed, weeks,
                           scheduler)
    samples = latin_hypercube(design.uncertain, n, design.seeds[0])
    with study_store(out, force, resume, "discover") as store:
        totals = run_points(design, samples, (metric,), store, workers, scheduler, resume, quiet)
        results = outcomes(design, totals)
        fails = -results[f"effect.{metric}"] < threshold
        points = samples_table(design, samples, results).assign(fails=fails)
        x = points[[u.path for u in design.uncertain]]
        boxes, trajectories = find_boxes(x, fails)
        boxes.attrs.update(points=n, failing=int(fails.sum()), metric=metric,
                           threshold=threshold)
        if out is not None:
            unit = total_unit(UNITS.get(metric, ""), HOW.get(metric, "mean"))
            title = (f"Where {design.policy} fails: reduces {metric} by less than "
                     f"{rounded(threshold)} {unit}\n({int(fails.sum())} of {n} points fail; "
                     f"totals over {design.window.label})")

            def write(folder: Path) -> None:
                boxes.to_csv(folder / "boxes.csv", index=False)
                write_design(folder, design, points)
                (folder / "figures").mkdir()
                tradeoff_figure(trajectories, title, folder / "figures" / "tradeoff.png")
                for number, box in boxes.groupby("box"):
                    box_figure(x, fails, box, number, folder / "figures" / f"box_{number}.png")

            _publish(out, write)
    return boxes


def describe(boxes: pd.DataFrame) -> str:
    """How many points failed and the boxes, in words, for the terminal."""
    attrs = boxes.attrs
    lines = [f"{attrs['failing']} of {attrs['points']} points fail (the policy reduces "
             f"{attrs['metric']} by less than {rounded(attrs['threshold'])})"] if attrs else []
    if attrs and 0 < attrs["failing"] < FEW_FAILING:
        lines.append(f"warning: fewer than {FEW_FAILING} failing points; a box around so few "
                     "says little (sample more points with --n)")
    if boxes.empty:
        lines.append("no box: no point fails, or the failing points do not concentrate")
    for number, box in boxes.groupby("box"):
        limits = "; ".join(f"{r.parameter} {r.low:.3g} to {r.high:.3g}"
                           for r in box[box["restricted"]].itertuples()) or "no restriction"
        mass = box["mass"].iloc[0]
        lines.append(f"box {number} (coverage {box['coverage'].iloc[0]:.0%}, density "
                     f"{box['density'].iloc[0]:.0%}, {mass:.0%} of the points): {limits}")
    return "\n".join(lines)
