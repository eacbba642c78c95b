"""The chemicals table (`sim/data/chemicals.yaml`) as arrays, plus the fentanyl product.

Product ids 0..n-1 are the table's chemicals; id n (`FENTANYL`) is fentanyl made in Mexican
labs, controlled everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources

import numpy as np

from sim.validation import load_yaml


@dataclass(frozen=True)
class Chemicals:
    names: tuple[str, ...]
    finished: np.ndarray            # bool: a finished fentanyl-related substance
    classes: tuple[tuple[str, ...], ...]
    yield_kg_per_kg: np.ndarray     # kg pure fentanyl per kg of chemical
    price_usd_per_kg: np.ndarray
    available_from: tuple[dt.date, ...]
    controlled_at_start: tuple[tuple[str, ...], ...]
    makers_2016: np.ndarray         # share of 2016 precursor makers making it
    same_class: np.ndarray          # same_class[a, b]: a and b share an analog class

    @property
    def fentanyl(self) -> int:
        """Product id of Mexican-made fentanyl."""
        return len(self.names)

    def ids(self, names=(), classes=()) -> list[int]:
        """Chemical ids named directly or through their analog class."""
        return [i for i, (name, cls) in enumerate(zip(self.names, self.classes, strict=True))
                if name in names or set(cls) & set(classes)]

    def available(self, day: dt.date) -> np.ndarray:
        return np.array([day >= d for d in self.available_from])


def load_chemicals() -> Chemicals:
    path = resources.files("sim") / "data" / "chemicals.yaml"
    rows = load_yaml(path.read_text(encoding="utf-8"))["chemicals"]
    return Chemicals(
        names=tuple(r["name"] for r in rows),
        finished=np.array([r["kind"] == "finished" for r in rows]),
        classes=tuple(tuple(r["classes"]) for r in rows),
        yield_kg_per_kg=np.array([r["yield_kg_per_kg"] for r in rows], float),
        price_usd_per_kg=np.array([r["price_usd_per_kg"] for r in rows], float),
        available_from=tuple(r["available_from"] for r in rows),
        controlled_at_start=tuple(tuple(r.get("controlled_at_start", [])) for r in rows),
        makers_2016=np.array([r.get("makers_2016", 0.0) for r in rows], float),
        same_class=np.array([[bool(set(a["classes"]) & set(b["classes"])) for b in rows]
                             for a in rows]),
    )
