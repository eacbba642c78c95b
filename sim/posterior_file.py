"""A posterior as a file (`posterior.csv` of `run.py calibrate --method posterior`, or the
`posterior:` key of a scenario): one row per draw, a column per parameter (dotted paths,
`sim.parameter_paths`), a `weight` column (>= 0, any positive sum) and perhaps a `draw` number.
Read as data only, checked against the scenario it is used with; `compare` gives replicate r
the draw that `draw_index` picks from the replicate's seed.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.parameter_paths import parameter_range
from sim.validation import ScenarioError, read_file

MAX_POSTERIOR_BYTES = 256 * 2**20
WEIGHT, DRAW = "weight", "draw"
DRAW_STREAM = 0x9057E210   # keys the draw's generator apart from the model's streams


@dataclass(frozen=True)
class Posterior:
    """Draws of `parameters` (rows of `values`) with normalised `weights`."""

    file: Path
    parameters: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray

    def draw_index(self, seed: int) -> int:
        """The draw of the replicate with this seed: by weight, from a generator keyed on the
        seed alone (so every scenario of a replicate gets the same draw)."""
        return int(np.random.default_rng([DRAW_STREAM, seed]).choice(self.weights.size,
                                                                     p=self.weights))

    def overrides(self, index: int, policies) -> dict[str, float]:
        """Draw `index` as overrides for a scenario with these `policies`: every table
        parameter, and a policy field where a policy of the scenario has it (a scenario that
        dropped a policy is not given its field)."""
        return {path: float(value) for path, value in zip(self.parameters, self.values[index],
                                                          strict=True)
                if applies(path, policies)}


def applies(path: str, policies) -> bool:
    """A table parameter always; `policies.<id>.<field>` where such a policy is."""
    try:
        parameter_range(path, policies)
    except ValueError:
        return False
    return True


def read_posterior(path: Path, policies, what: str = "posterior") -> Posterior:
    """Read and check a posterior CSV file against a scenario's `policies`: every column but
    `draw` and `weight` a real-valued parameter, every value finite and within the parameter's
    range, weights >= 0 with a positive sum. `what` names the option or key in errors."""
    path = Path(path)
    data = read_file(path, f"{what} CSV file", MAX_POSTERIOR_BYTES)
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ScenarioError(f"{path}: {what}: not a CSV text file ({err})") from None
    if not rows or WEIGHT not in rows[0]:
        raise ScenarioError(f"{path}: {what}: expected a header with a '{WEIGHT}' column and a "
                            "column per parameter (e.g. users.overdose_hazard_per_use)")
    header = rows[0]
    columns = [c for c in header if c not in (WEIGHT, DRAW)]
    if not columns or len(set(header)) < len(header):
        raise ScenarioError(f"{path}: {what}: expected one column per parameter beside "
                            f"'{WEIGHT}', each once; got {', '.join(header)}")
    ranges = []
    for column in columns:
        try:
            ranges.append(parameter_range(column, policies))
        except ValueError as err:
            raise ScenarioError(f"{path}: {what}: column {column!r}: {err}") from None
    table = np.empty((len(rows) - 1, len(header)))
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ScenarioError(f"{path}:{number}: {what}: expected {len(header)} values, got "
                                f"{len(row)}")
        for j, text in enumerate(row):
            try:
                table[number - 2, j] = float(text)
            except ValueError:
                table[number - 2, j] = math.nan
            if not math.isfinite(table[number - 2, j]):
                raise ScenarioError(f"{path}:{number}: {what}: {header[j]}: expected a finite "
                                    f"number, got {text!r}")
    if table.shape[0] == 0:
        raise ScenarioError(f"{path}: {what}: no draws (expected one row per draw)")
    weights = table[:, header.index(WEIGHT)]
    if (weights < 0).any() or weights.sum() <= 0:
        row = int(np.argmax(weights < 0)) + 2 if (weights < 0).any() else None
        raise ScenarioError(f"{path}{f':{row}' if row else ''}: {what}: weight: expected "
                            "weights >= 0 with a positive sum")
    values = table[:, [header.index(c) for c in columns]]
    for j, (column, (low, high)) in enumerate(zip(columns, ranges, strict=True)):
        outside = np.flatnonzero((values[:, j] < low) | (values[:, j] > high))
        if outside.size:
            raise ScenarioError(f"{path}:{outside[0] + 2}: {what}: {column}: "
                                f"{values[outside[0], j]:g} is out of range [{low}, {high}]")
    return Posterior(path, tuple(columns), values, weights / weights.sum())


NO_POSTERIOR = "none"   # `--posterior none`: seeds only, even where the scenario has a posterior


def study_posterior(option, first, where) -> Posterior | None:
    """The posterior a paired study draws from: `option` (a file, or False/"none" for none),
    else the first scenario's `posterior:` key (None when it has none)."""
    if option is False or (isinstance(option, str) and option == NO_POSTERIOR):
        return None
    if option is None:
        if first.posterior is None:
            return None
        return read_posterior(first.posterior, first.policies, f"{where}: posterior")
    return read_posterior(Path(option), first.policies, "--posterior")


def replicate_variants(scenario, posterior: Posterior | None, seeds: list[int]) -> list:
    """The scenario of each replicate: itself, or with the draw its seed picks."""
    if posterior is None:
        return [scenario] * len(seeds)
    return [scenario.with_overrides(posterior.overrides(posterior.draw_index(seed),
                                                        scenario.policies)) for seed in seeds]


def draws_table(posterior: Posterior, seeds: list[int]):
    """posterior_draws.csv: replicate, seed, the draw's row in the file (1 = first) and its
    values."""
    import pandas as pd

    rows = []
    for replicate, seed in enumerate(seeds):
        index = posterior.draw_index(seed)
        rows.append({"replicate": replicate, "seed": seed, "row": index + 1,
                     **dict(zip(posterior.parameters, posterior.values[index], strict=True))})
    return pd.DataFrame(rows)


def uncertainty_note(posterior: Posterior | None) -> str:
    """What a study's intervals carry (comparison.csv's `uncertainty` column)."""
    if posterior is None:
        return "seeds only (one parameter set)"
    return (f"seeds and parameters: replicate r draws from the posterior {posterior.file} "
            f"({len(posterior.parameters)} parameters), the same draw in every scenario")
