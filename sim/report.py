"""The comparison report: figures, report.md and a self-contained report.html."""

from __future__ import annotations

import base64
import html
import platform
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.compare import weekly_bands  # noqa: E402
from sim.plots import PLAIN_TEXT  # noqa: E402

FIGURE_METRICS = ("overdose_deaths", "fentanyl_to_us_kg", "fentanyl_seized_kg",
                  "retail_price_usd_per_mg", "china_cooperation", "users_in_treatment")


@dataclass
class ReportInput:
    """What a report shows: the scenarios (name -> description, policy markers), the runs,
    the comparison table and how to reproduce it."""

    question: str
    descriptions: dict[str, str]
    markers: dict[str, list[tuple[str, str]]]    # scenario -> [(ISO date, label)] not in first
    frames: dict[str, list[pd.DataFrame]]
    table: pd.DataFrame
    seeds: list[int]
    command: str
    versions: dict[str, str]


def versions() -> dict[str, str]:
    import mesa
    import numba
    import numpy

    import sim

    return {"fentanyl-sim": sim.__version__, "python": platform.python_version(),
            "mesa": mesa.__version__, "numba": numba.__version__, "numpy": numpy.__version__,
            "pandas": pd.__version__}


def time_figure(report: ReportInput, metric: str, path: Path) -> None:
    """Median line and shaded 5-95% band per scenario; policy starts marked."""
    fig, ax = plt.subplots(figsize=(10, 4.2))
    for n, (name, runs) in enumerate(report.frames.items()):
        band = weekly_bands(runs, metric)
        smooth = band[["median", "low", "high"]].rolling(4, min_periods=1).mean()
        color = f"C{n}"
        ax.plot(band["date"], smooth["median"], color=color, lw=1.3, label=name)
        ax.fill_between(band["date"], smooth["low"], smooth["high"], color=color, alpha=0.18)
        for day, label in report.markers.get(name, []):
            ax.axvline(pd.Timestamp(day), color=color, ls="--", lw=0.8)
            ax.annotate(label, (pd.Timestamp(day), 0.98), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=6, va="top", ha="right", color=color)
    ax.set_title(f"{metric} (median and 5-95% of replicates, 4-week mean)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def difference_figure(table: pd.DataFrame, window: str, path: Path) -> None:
    """Paired differences against the first scenario, with 5-95% intervals, per metric."""
    rows = table[(table["window"] == window)]
    first = rows["scenario"].iloc[0]
    rows = rows[rows["scenario"] != first]
    metrics = list(dict.fromkeys(rows["metric"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 1.6 + 0.45 * max(
        1, rows["scenario"].nunique())), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        part = rows[rows["metric"] == metric]
        y = list(range(len(part)))
        mid, low, high = (part[c].to_numpy() for c in ("diff_median", "diff_p5", "diff_p95"))
        ax.barh(y, mid, color="C0", alpha=0.7)
        ax.errorbar(mid, y, xerr=[mid - low, high - mid], fmt="none", color="k", lw=1)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(list(y), part["scenario"] if ax is axes[0][0] else [""] * len(part),
                      fontsize=7)
        ax.set_title(metric, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(f"Paired difference from {first} ({window}), median and 5-95%", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _table_rows(table: pd.DataFrame) -> list[list[str]]:
    def fmt(x):
        return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"

    return [[r.window, r.scenario, r.metric, fmt(r.median), f"{fmt(r.p5)} to {fmt(r.p95)}",
             fmt(r.diff_median), f"{fmt(r.diff_p5)} to {fmt(r.diff_p95)}"]
            for r in table.itertuples()]


HEADER = ["window", "scenario", "metric", "median", "5-95%", "difference (median)",
          "difference 5-95%"]


@matplotlib.rc_context(PLAIN_TEXT)
def write_report(report: ReportInput, folder: Path) -> list[Path]:
    """Write figures, report.md and report.html into `folder`; returns the files written."""
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    images = []
    for metric in FIGURE_METRICS:
        path = figures / f"{metric}.png"
        time_figure(report, metric, path)
        images.append(path)
    if len(report.frames) > 1:   # differences need a second scenario
        for window in dict.fromkeys(report.table["window"]):
            path = figures / f"differences_{window.replace('..', '_to_')}.png"
            difference_figure(report.table, window, path)
            images.append(path)
    rows = _table_rows(report.table)
    md = [f"# {report.question}", "", "## Scenarios", ""]
    for name, text in report.descriptions.items():
        md.append(f"- **{name}**: {text.strip()}")
        md.extend(f"  - {day}: {label}" for day, label in report.markers.get(name, []))
    md += ["", "## Results", "",
           "Totals per replicate (sums of weekly flows, means of levels and shares); "
           "differences are paired by seed against the first scenario.", "",
           "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    md += ["| " + " | ".join(row) + " |" for row in rows]
    md += ["", "## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for p in images]
    md += ["", "## Reproduce", "", f"Seeds: {', '.join(map(str, report.seeds))}", "",
           "```", report.command, "```", "",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()), ""]
    (folder / "report.md").write_text("\n".join(md))
    (folder / "report.html").write_text(_html(report, rows, images))
    return [folder / "report.md", folder / "report.html", *images]


def _html(report: ReportInput, rows: list[list[str]], images: list[Path]) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(report.question)}"
             "</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
             "padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>",
             f"<h1>{esc(report.question)}</h1><h2>Scenarios</h2><ul>"]
    for name, text in report.descriptions.items():
        marks = "".join(f"<li>{esc(d)}: {esc(label)}</li>" for d, label in
                        report.markers.get(name, []))
        parts.append(f"<li><b>{esc(name)}</b>: {esc(text.strip())}<ul>{marks}</ul></li>")
    parts.append("</ul><h2>Results</h2><table><tr>" + "".join(f"<th>{esc(h)}</th>"
                                                              for h in HEADER) + "</tr>")
    parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows]
    parts.append("</table><h2>Figures</h2>")
    for path in images:
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(f"<p><img alt='{esc(path.stem)}' src='data:image/png;base64,{data}'></p>")
    parts.append(f"<h2>Reproduce</h2><p>Seeds: {esc(', '.join(map(str, report.seeds)))}</p>"
                 f"<pre>{esc(report.command)}</pre><p>Versions: "
                 + esc(", ".join(f"{k} {v}" for k, v in report.versions.items()))
                 + "</p></body></html>")
    return "\n".join(parts)
