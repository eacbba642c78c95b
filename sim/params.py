"""The parameter table: every default with its unit and source (or "assumption").

Each actor module declares its own group (`PARAMS`, in the style of Starsim); this module puts
them in one table, in the style of Covasim: a scenario's `parameters:` block overrides entries
by their dotted path (`cartels.learning_rate`). Ranges are checked on load.
"""

from __future__ import annotations

from typing import Any

from sim.actors import cartels, customs, makers, regulators, retail, users
from sim.parameter import Param

# one group per actor kind, declared in its module; the order of the table and of the docs
TABLE: dict[str, dict[str, Param]] = {
    "users": users.PARAMS,
    "market": retail.PARAMS,
    "makers": makers.PARAMS,
    "cartels": cartels.PARAMS,
    "customs": customs.PARAMS,
    "regulators": regulators.PARAMS,
}


def defaults() -> dict[str, dict[str, Any]]:
    """Plain nested dict of default values (a fresh copy)."""
    return {group: {k: p.value for k, p in params.items()} for group, params in TABLE.items()}


def rows():
    """(path, Param) for every parameter, in table order."""
    for group, params in TABLE.items():
        for key, p in params.items():
            yield f"{group}.{key}", p


def markdown_table() -> str:
    """The parameter table as Markdown (for docs/ODD.md): path, default, unit, range, source."""
    lines = ["| parameter | default | unit | range | source |", "|---|---|---|---|---|"]
    for path, p in rows():
        span = f"{p.low:g} to {p.high:g}" if p.low is not None else ""
        lines.append(f"| `{path}` | {p.value:g} | {p.unit} | {span} | {p.source} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
