"""The uncertain parameters that `run.py sensitivity` and `run.py discover` sample, and over what
ranges.

The parameter table's `low`/`high` are the values a scenario may set (what the model can run),
not plausible values: a study samples narrower ranges. Each parameter's range comes from, in
this order: the user (`PATH=LOW:HIGH`); a posterior (`--posterior FILE`: the support of its
draws, the smallest and largest value with a positive weight); the scenario's `calibration:
free` block (the fit's sourced prior ranges); `PLAUSIBLE` below. A parameter with none of these
is refused by name. The default set, `PLAUSIBLE`, is ten assumptions that policy effects rest
on and the fit does not constrain (docs/uncertainty.md argues each range); with a posterior,
the default is its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.config import Scenario, check_override, thaw
from sim.exploration import is_whole, table_default
from sim.parameter_paths import EVERY_POLICY
from sim.posterior_file import Posterior, read_posterior
from sim.validation import ScenarioError, Source, fail


@dataclass(frozen=True)
class Uncertain:
    """A parameter (`group.key` of the table, or a policy's field `policies.<id>.<field>`)
    sampled uniformly over [low, high] (its table unit); `whole` ones are rounded; `source`
    says where the range comes from."""

    path: str
    low: float
    high: float
    source: str
    whole: bool = False

    def value(self, x: float):
        return round(float(x)) if self.whole else float(x)


# path: (low, high, argument); defaults in brackets
PLAUSIBLE = {
    "cartels.supplier_search_prob": (
        0.5, 8.0, "assumption: a quarter to four times the default 2 sellers met a week; no "
        "measurement of how fast cartels find new precursor sellers"),
    "cartels.link_loss_on_seizure": (
        0.35, 0.95, "assumption: half the default 0.7 to nearly every seizure ending the link"),
    "cartels.risk_aversion": (
        2.0, 32.0, "assumption: a quarter to four times the default 8; route choice weighs "
        "expected losses (NarcoLogic) but the weight's scale is not measured"),
    "cartels.armed_deterrence": (
        0.5, 4.0, "assumption: a raid on Sinaloa (armed strength 1.6) succeeds 56% to 14% of the "
        "time (29% at the default 1.5)"),
    "makers.new_route_lag_weeks": (
        13.0, 104.0, "assumption: three months to two years to scale up a new synthesis route "
        "(default 40 weeks)"),
    "makers.raid_rate": (
        0.0025, 0.04, "assumption: a quarter to four times the default 0.01 raids a week at full "
        "enforcement"),
    "customs.targeting_gain": (
        5.0, 40.0, "assumption: intelligence makes an examination 5 to 40 times likelier to hit "
        "(default 20)"),
    "regulators.china_enforcement_max": (
        0.6, 1.0, "assumption: how far full cooperation raises China's enforcement (default "
        "0.9)"),
    "users.treatment_exit_prob": (
        0.0095, 0.046, "weekly exits that retain 61% at one year (VA) to 29.5% at 180 days "
        "(MarketScan), the sources of the default 0.0263"),
    "users.moud_overdose_ratio": (
        0.21, 0.37, "Sordo et al., BMJ 2017: overdose mortality 4.8 (methadone) to 2.7 "
        "(buprenorphine) times lower on MOUD; default 0.3"),
}


def parse_parameters(text: str | list | dict | None) -> dict[str, tuple | None]:
    """`--parameters` (`a.b,c.d=0.1:0.5`), a list of paths, or {path: (low, high) or None} ->
    {path: (low, high) or None (a range from elsewhere)}."""
    if text is None or isinstance(text, dict):
        return dict(text or {})
    items = text.split(",") if isinstance(text, str) else list(text)
    out: dict[str, tuple | None] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        path, sep, span = item.partition("=")
        bounds = None
        if sep:
            low, colon, high = span.partition(":")
            try:
                bounds = (float(low), float(high))
            except ValueError:
                colon = ""
            if not colon:
                raise ScenarioError(f"--parameters: {item}: expected PATH or PATH=LOW:HIGH, e.g. "
                                    "cartels.supplier_search_prob=0.5:8")
        if path in out:
            raise ScenarioError(f"--parameters: {path} is listed twice")
        out[path] = bounds
    if not out:
        raise ScenarioError("--parameters: expected at least one parameter (PATH or "
                            "PATH=LOW:HIGH, comma-separated)")
    return out


def posterior_support(posterior: Posterior) -> dict[str, tuple[float, float]]:
    """{path: (smallest, largest value among the posterior's draws of positive weight)}."""
    drawn = posterior.values[posterior.weights > 0]
    support = {}
    for column, values in zip(posterior.parameters, drawn.T, strict=True):
        low, high = float(values.min()), float(values.max())
        if not low < high:
            raise ScenarioError(f"{posterior.file}: {column}: every draw has the value {low:g}; "
                                "a study samples a range (leave it out with --parameters)")
        support[column] = (low, high)
    return support


def _policy_field(scenarios: list[Scenario], path: str):
    """The policy records with the id of `policies.<id>.<field>` (with `*`: the policies that
    have the field, `sim.parameter_paths`), and the field's value in the first (None when no
    scenario has the policy or the field)."""
    _, pid, name = (path.split(".", 2) + ["", ""])[:3]
    if pid == EVERY_POLICY:
        having = [p for s in scenarios for p in s.policies if hasattr(p, name)]
        return having, getattr(having[0], name) if having else None
    records = [r for s in scenarios for r in thaw(s.resolved).get("policies", [])
               if r.get("id") == pid]
    return records, next((r[name] for r in records if name in r), None)


def applies(scenario: Scenario, path: str) -> bool:
    """Whether `scenario` has the parameter: every table parameter; a policy field only where
    a policy with that id is."""
    return not path.startswith("policies.") or bool(_policy_field([scenario], path)[0])


def uncertain_parameters(scenarios: list[Scenario], parameters=None, posterior: Path | None = None
                         ) -> tuple[Uncertain, ...]:
    """The parameters a study samples and their ranges (module docstring), checked against
    every scenario that has them; `parameters` as `parse_parameters` takes them. An error names
    where the parameter came from: --parameters, or the posterior file."""
    chosen = parse_parameters(parameters)
    policies = [p for s in scenarios for p in s.policies]
    support = posterior_support(read_posterior(posterior, policies, "--posterior")
                                ) if posterior else {}
    where = Source(Path("--parameters" if chosen or not posterior else str(posterior)))
    spec = scenarios[0].calibration
    prior = {f.path: (f.low, f.high, f.source) for f in (spec.free if spec else ())}

    def span(path: str, bounds) -> tuple | None:
        if bounds is not None:
            return (*bounds, "given on the command line")
        if path in support:
            return (*support[path], f"the support of the posterior {posterior}")
        return prior.get(path, PLAUSIBLE.get(path))

    return tuple(_uncertain(scenarios, path, span(path, bounds), where)
                 for path, bounds in (chosen or dict.fromkeys(support or PLAUSIBLE)).items())


def _uncertain(scenarios: list[Scenario], path: str, span: tuple | None, where: Source
               ) -> Uncertain:
    """One parameter, checked: known (a table parameter, or a field of a policy some scenario
    has), with a range whose ends it can take in every scenario that has it."""
    if path.startswith("policies."):
        records, default = _policy_field(scenarios, path)
        if not records:
            fail(where, (path,), "no scenario of the study has a policy with this id (or, "
                 "for policies.*.<field>, with this field)")
        whole = isinstance(default, int) and not isinstance(default, bool)
    else:
        check_override(path, table_default(path), where)   # an unknown path fails by name
        whole = is_whole(path)
    if span is None:
        fail(where, (path,), "no documented range for it (not in the default set, the "
             f"scenario's calibration: block or a posterior); give one as {path}=LOW:HIGH")
    low, high, source = span
    if not low < high:
        fail(where, (path,), f"expected LOW < HIGH, got {low:g}:{high:g}")
    for value, what in ((low, "low end"), (high, "high end")):
        value = round(value) if whole else value
        for scenario in (s for s in scenarios if applies(s, path)):
            try:
                scenario.with_overrides({path: value})
            except ScenarioError as err:
                fail(where, (path,), f"the range's {what} {value:g} is not a value it can take "
                     f"({err})")
    return Uncertain(path, float(low), float(high), source, whole)


def salib_problem(uncertain: tuple[Uncertain, ...]) -> dict:
    """The SALib problem (`num_vars`, `names`, `bounds`) of these parameters."""
    return {"num_vars": len(uncertain), "names": [u.path for u in uncertain],
            "bounds": [[u.low, u.high] for u in uncertain]}


def point_overrides(uncertain: tuple[Uncertain, ...], row) -> dict:
    """The overrides of one sampled point (whole-number parameters rounded)."""
    return {u.path: u.value(x) for u, x in zip(uncertain, row, strict=True)}


def ranges_table(uncertain: tuple[Uncertain, ...]) -> pd.DataFrame:
    """parameters.csv: what was sampled, over what range, and why that range."""
    return pd.DataFrame([{"parameter": u.path, "low": u.low, "high": u.high, "source": u.source}
                         for u in uncertain])
