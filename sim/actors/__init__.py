"""The actors, one module per kind: its state, parameters (`PARAMS`), weekly rules, kernel calls
and output columns (`COLUMNS`, `observe`).

- `makers`: precursor makers (structure of arrays)
- `buyers`: what every precursor buyer does; `cartels` (Mesa agents) and `mail_buyers` (US
  mail-order buyers, Mesa agents) build on it
- `customs`: customs agencies (Mesa agents) and their posts (structure of arrays)
- `regulators`: chemical controls, national regulators, China's regulator, the UN commission
  (Mesa agents)
- `retail`: US retail dealers by market region
- `users`: people who use opioids (structure of arrays)
"""

from collections.abc import Callable
from operator import attrgetter
from typing import TypeVar

T = TypeVar("T")

_CREATED = attrgetter("unique_id")


def registered(model, kind: type) -> list:
    """The model's agents of `kind` (subclasses included), from Mesa's registry
    (`model.agents_by_type`), in the order they were created (the world file's). Kept per model
    and kind until the registry's size changes: the phases ask for the same agents every week,
    and reading Mesa's weak-reference sets each time cost more than a kernel call."""
    cache = model.__dict__.setdefault("_registered", {})
    size = len(model.agents)
    hit = cache.get(kind)
    if hit is None or hit[0] != size:
        found = [agent for cls, agents in model.agents_by_type.items() if issubclass(cls, kind)
                 for agent in agents]
        hit = cache[kind] = (size, sorted(found, key=_CREATED))
    return hit[1]


def per_model(model, name: str, build: Callable[[], T]) -> T:
    """`build()`, made at the first call for this model and kept on it under `name` for the
    rest of its run: agents' groupings, kernels' fixed arguments and arrays refilled each week
    (no agent joins or leaves a model after it is built, and its parameters are read-only)."""
    kept = model.__dict__.get(name)
    if kept is None:
        kept = model.__dict__[name] = build()
    return kept


def clip(value: float, low: float, high: float) -> float:
    """`np.clip` of one number (NaN stays NaN), without NumPy's cost for a scalar."""
    return float(min(max(value, low), high))
