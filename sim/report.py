"""The comparison report: report.md and a self-contained report.html (the same content). They
open with the headline (deaths averted, in numbers and in words), a warning when replicates are
too few, and what the intervals include; then every metric with its unit and sign convention,
and figures readable on a slide (one metric each, 1,500 px wide, units on the axes)."""

from __future__ import annotations

import base64
import html
import platform
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.compare import weekly_bands  # noqa: E402
from sim.ensemble import default_workers, fork_is_safe  # noqa: E402
from sim.headline import COLUMNS, cells, headlines, rounded, too_few  # noqa: E402
from sim.metrics import UNITS  # noqa: E402
from sim.output import total_unit  # noqa: E402
from sim.plots import (  # noqa: E402
    PLAIN_TEXT,
    draw_shared,
    legend_below,
    mark_dates,
    save_slide,
    slide_figure,
)

FIGURE_METRICS = ("overdose_deaths", "fentanyl_to_us_kg", "fentanyl_seized_kg",
                  "retail_price_usd_per_mg", "china_cooperation", "users_in_treatment")


@dataclass
class ReportInput:
    """What a report shows: the scenarios (name -> description, policy markers), the runs,
    the comparison table and how to reproduce it. `parameter_draws` names where replicate r's
    parameter values come from when they are drawn (a posterior file); None when every
    replicate runs the scenarios' own values."""

    question: str
    descriptions: dict[str, str]
    markers: dict[str, list[tuple[str, str]]]    # scenario -> [(ISO date, label)] not in first
    frames: dict[str, list[pd.DataFrame]]
    table: pd.DataFrame
    seeds: list[int]
    command: str
    versions: dict[str, str]
    parameter_draws: str | None = None


def versions() -> dict[str, str]:
    import mesa
    import numba
    import numpy

    import sim

    return {"fentanyl-sim": sim.__version__, "python": platform.python_version(),
            "mesa": mesa.__version__, "numba": numba.__version__, "numpy": numpy.__version__,
            "pandas": pd.__version__}


def unit_of(table: pd.DataFrame, metric: str) -> str:
    """The unit of a metric's total over a window (people, kg, or a level's mean)."""
    row = table[table["metric"] == metric].iloc[0]
    return total_unit(row["unit"], row["how"])


def time_figure(report: ReportInput, metric: str, path: Path) -> Path:
    """One metric week by week: each scenario's median line and 5-95% band of replicates; the
    policies not in the first scenario marked by number and listed below."""
    markers = [(pd.Timestamp(day), f"{label} ({name})", f"C{n}")
               for n, name in enumerate(report.frames) for day, label in
               report.markers.get(name, [])]
    fig, ax = slide_figure(4.2, len(markers))
    for n, (name, runs) in enumerate(report.frames.items()):
        band = weekly_bands(runs, metric)
        smooth = band[["median", "low", "high"]].rolling(4, min_periods=1).mean()
        ax.plot(band["date"], smooth["median"], color=f"C{n}", lw=1.4, label=name)
        ax.fill_between(band["date"], smooth["low"], smooth["high"], color=f"C{n}", alpha=0.18)
    lines, pad = mark_dates(ax, markers)
    ax.set_ylabel(f"{metric}\n({UNITS.get(metric, '')}, 4-week mean)")
    ax.set_title(f"{metric}: median and 5-95% of {len(report.seeds)} replicates", pad=pad + 4)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    legend_below(fig, lines)
    return save_slide(fig, path, len(lines))


def difference_figure(table: pd.DataFrame, window: str, metric: str, path: Path) -> Path:
    """One metric's paired difference of each scenario from the first over a window: mean
    (diamond) with its 95% interval (thick bar), median (dot) and 5-95% of replicates (thin
    bar)."""
    rows = table[(table["window"] == window) & (table["metric"] == metric)]
    first = rows["scenario"].iloc[0]
    rows = rows.iloc[1:][::-1]           # the second scenario at the top
    fig, ax = slide_figure(1.3 + 0.45 * len(rows))
    y = np.arange(len(rows))
    ax.hlines(y, rows["diff_p5"], rows["diff_p95"], color="0.55", lw=1.2,
              label="5-95% of replicates")
    ax.hlines(y, rows["diff_ci95_low"], rows["diff_ci95_high"], color="C0", lw=5,
              label="95% interval of the mean")
    ax.plot(rows["diff_mean"], y, "D", color="w", mec="C0", ms=6, label="mean")
    ax.plot(rows["diff_median"], y, "o", color="k", ms=4, label="median")
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, rows["scenario"])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"{metric}: scenario minus {first} ({unit_of(table, metric)})")
    ax.set_title(f"{metric}, {window}: paired difference from {first}")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return save_slide(fig, path)


def includes(report: ReportInput) -> str:
    """What the intervals include, in words."""
    seeds = ("Replicate r runs every scenario with the same seed (the first seed + r), so the "
             "differences are paired: the random variation common to both runs cancels.")
    if report.parameter_draws:
        return (f"{seeds} Replicate r also draws its parameter values from "
                f"{report.parameter_draws}, the same draw for every scenario: the intervals "
                "include both the model's random variation and the parameter uncertainty that "
                "the posterior describes (not that of assumptions outside it).")
    return (f"{seeds} Every replicate runs the parameter values in the scenario files, so the "
            "intervals include only the model's random variation (which people overdose, which "
            "loads are seized), not the uncertainty of the parameters themselves: fitted and "
            "assumed values are taken as known. How the effects depend on those assumptions: "
            "`run.py sensitivity` and `run.py discover` (docs/uncertainty.md).")


def headline_blocks(report: ReportInput) -> list[tuple]:
    table = report.table
    rows = headlines(table)
    window = table["window"].iloc[-1]
    if not rows:
        first = table[(table["window"] == window) & (table["metric"] == "overdose_deaths")].iloc[0]
        return [("h2", f"Headline: overdose deaths, {window}"),
                ("p", f"One scenario ({first.scenario}), so nothing to compare against: "
                      f"{rounded(first['median'])} overdose deaths over {window} (median of "
                      f"replicates; 5-95% {rounded(first.p5)} to {rounded(first.p95)}).")]
    first = rows[0].first
    return [("h2", f"Headline: deaths averted against {first}, {window}"),
            ("p", f"Deaths averted: {first}'s overdose deaths minus the scenario's over {window}, "
                  "per paired replicate, in people; positive means fewer deaths. The mean of the "
                  "replicates and its 95% interval (Student t); the median beside it (the two "
                  "differ where some replicates' differences are far larger than most); "
                  "probability that deaths are lower: the share of paired replicates in which "
                  "they are. Not robust: the interval crosses zero."),
            ("table", list(COLUMNS), [cells(h) for h in rows]),
            ("ul", [h.words() for h in rows])]


def metric_blocks(table: pd.DataFrame) -> list[tuple]:
    first = table["scenario"].iloc[0]
    blocks = [("h2", "Every metric"),
              ("p", "Totals per replicate over each window: sums of weekly flows (people, kg, "
                    "US$), means of levels and shares. Sign convention: difference = the "
                    f"scenario minus {first}, paired by replicate, so a negative difference is "
                    f"less of the metric than under {first} (fewer deaths, fewer kg, a lower "
                    "price). 'Replicates below' is the share of paired replicates in which the "
                    f"scenario's total is below {first}'s.")]
    header = ["scenario", "total (median)", "5-95% of replicates", "difference (median)",
              "95% interval of the mean difference", "replicates below"]
    for window in dict.fromkeys(table["window"]):
        for metric in dict.fromkeys(table["metric"]):
            part = table[(table["window"] == window) & (table["metric"] == metric)]
            rows = [[r.scenario, rounded(r.median), f"{rounded(r.p5)} to {rounded(r.p95)}"]
                    + (["", "", ""] if r.scenario == first else
                       [rounded(r.diff_median), f"{rounded(r.diff_ci95_low)} to "
                        f"{rounded(r.diff_ci95_high)}", f"{r.prob_lower:.0%}"])
                    for r in part.itertuples()]
            blocks += [("h3", f"{metric}, {window}: {unit_of(table, metric)}"),
                       ("table", header, rows)]
    return blocks


def write_figures(report: ReportInput, folder: Path) -> list[Path]:
    figures = folder / "figures"
    figures.mkdir(exist_ok=True)
    jobs = [(figures / f"{metric}.png", partial(time_figure, report, metric))
            for metric in FIGURE_METRICS]
    if len(report.frames) > 1:   # differences need a second scenario
        for window in dict.fromkeys(report.table["window"]):
            stem = f"differences_{window.replace('..', '_to_')}"
            jobs += [(figures / f"{stem}_{metric}.png",
                      partial(difference_figure, report.table, window, metric))
                     for metric in FIGURE_METRICS if metric in set(report.table["metric"])]
    return draw_shared(jobs, default_workers() if fork_is_safe() else 1)


@matplotlib.rc_context(PLAIN_TEXT)
def write_report(report: ReportInput, folder: Path) -> list[Path]:
    """Write figures, report.md and report.html into `folder`; returns the files written."""
    images = write_figures(report, folder)
    warning = too_few(len(report.seeds))
    blocks = [("h1", report.question), *headline_blocks(report),
              *([("warn", warning)] if warning else []),
              ("h2", "What the intervals include"), ("p", includes(report)),
              ("h2", "Scenarios"),
              ("ul", [f"{name}: {text.strip()}" + "".join(f"; {day}: {label}" for day, label in
                                                         report.markers.get(name, []))
                      for name, text in report.descriptions.items()]),
              *metric_blocks(report.table),
              ("h2", "Figures"), *[("img", path) for path in images],
              ("h2", "Reproduce"), ("p", f"Seeds: {', '.join(map(str, report.seeds))}"),
              ("pre", report.command),
              ("p", "Versions: " + ", ".join(f"{k} {v}" for k, v in report.versions.items()))]
    (folder / "report.md").write_text(markdown(blocks))
    (folder / "report.html").write_text(page(report.question, blocks))
    return [folder / "report.md", folder / "report.html", *images]


def markdown(blocks: list[tuple]) -> str:
    out = []
    for kind, *body in blocks:
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + " " + body[0], ""]
        elif kind == "p":
            out += [body[0], ""]
        elif kind == "warn":
            out += [f"> **Warning.** {body[0]}", ""]
        elif kind == "ul":
            out += [f"- {item}" for item in body[0]] + [""]
        elif kind == "table":
            header, rows = body
            out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            out += ["| " + " | ".join(row) + " |" for row in rows] + [""]
        elif kind == "img":
            out += [f"![{body[0].stem}](figures/{body[0].name})", ""]
        elif kind == "pre":
            out += ["```", body[0], "```", ""]
    return "\n".join(out)


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:"
         "collapse;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
         "td:first-child{text-align:left}img{max-width:100%}.warn{background:#fff3cd;"
         "border:1px solid #e0c36c;padding:6px}")


def page(title: str, blocks: list[tuple]) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
             f"<style>{STYLE}</style></head><body>"]
    for kind, *body in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{esc(body[0])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{esc(body[0])}</p>")
        elif kind == "warn":
            parts.append(f"<p class='warn'><b>Warning.</b> {esc(body[0])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in body[0]) + "</ul>")
        elif kind == "table":
            header, rows = body
            parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
                         + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                                   for row in rows) + "</table>")
        elif kind == "img":
            data = base64.b64encode(body[0].read_bytes()).decode()
            parts.append(f"<p><img alt='{esc(body[0].stem)}' src='data:image/png;base64,{data}'>"
                         "</p>")
        elif kind == "pre":
            parts.append(f"<pre>{esc(body[0])}</pre>")
    return "\n".join(parts + ["</body></html>"])
