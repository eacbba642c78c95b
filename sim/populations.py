"""Array-backed populations (structure of arrays): precursor makers and US users.

Each population keeps one NumPy array per attribute and a thin read-only view per agent
(`population[i]`) for people who want to inspect one firm or one person.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.kernels import rng
from sim.kernels.users import EMPTY, USING

COUNTRIES = ("china", "india", "mexico", "us", "un")
CHINA, INDIA, MEXICO, US, UN = range(len(COUNTRIES))


class AgentView:
    """One agent of an array-backed population, read live from the arrays."""

    def __init__(self, population, index: int):
        self._population, self.index = population, index

    def __getattr__(self, name):
        column = getattr(self._population, name)
        return column[self.index].item()

    def __repr__(self):
        names = [f.name for f in fields(self._population) if isinstance(
            getattr(self._population, f.name), np.ndarray)]
        body = ", ".join(f"{n}={getattr(self, n)!r}" for n in names)
        return f"{type(self._population).__name__[:-1]}({self.index}: {body})"


class Population:
    """Common behaviour: size, indexing into views."""

    active: np.ndarray

    def __len__(self) -> int:
        return self.active.size

    def __getitem__(self, index: int) -> AgentView:
        if not 0 <= index < len(self):
            raise IndexError(index)
        return AgentView(self, index)


@dataclass
class Makers(Population):
    """Precursor makers, one slot per firm (inactive slots are room for entrants).

    Units: capacity_kg_per_week (kg of its chemical per week), compliance (0-1),
    sales_kg (kg shipped in the last week).
    """

    active: np.ndarray          # uint8: 1 while the firm sells to illicit buyers
    country: np.ndarray         # uint8: index into COUNTRIES
    region: np.ndarray          # int16: index into the world's maker_regions
    chemical: np.ndarray        # int16: index into the chemicals table
    mode: np.ndarray            # uint8: 0 mail/express, 1 air cargo, 2 sea cargo
    online: np.ndarray          # uint8: sells through online marketplaces
    sanctioned: np.ndarray      # uint8: on the US sanctions list under its current name
    compliance: np.ndarray      # float32: 0-1 willingness to refuse controlled business
    capacity_kg_per_week: np.ndarray  # float32
    sales_kg: np.ndarray        # float32

    @classmethod
    def empty(cls, n: int) -> Makers:
        return cls(active=np.zeros(n, np.uint8), country=np.zeros(n, np.uint8),
                   region=np.zeros(n, np.int16), chemical=np.zeros(n, np.int16),
                   mode=np.zeros(n, np.uint8), online=np.zeros(n, np.uint8),
                   sanctioned=np.zeros(n, np.uint8), compliance=np.zeros(n, np.float32),
                   capacity_kg_per_week=np.zeros(n, np.float32), sales_kg=np.zeros(n, np.float32))

    def create(self, slots: np.ndarray, seed: int, stream: int, week: int, params: dict,
               region_share: np.ndarray, region_country: np.ndarray, chemical: np.ndarray,
               mode_ok: np.ndarray) -> None:
        """Fill `slots` with new firms; attributes drawn from counter-based streams keyed on the
        slot, so a firm's draws do not depend on how many others are created.

        chemical: the chemical each new firm makes (per slot); mode_ok[region, mode]: modes with
        a route from that region.
        """
        if slots.size == 0:
            return
        u = [rng.draws(seed, stream, week, slots * 8 + k) for k in range(6)]
        region = np.searchsorted(np.cumsum(region_share), u[0] * region_share.sum(), "right")
        region = np.minimum(region, region_share.size - 1)
        mode_p = np.array([params["mail_share"], params["air_share"],
                           max(0.0, 1 - params["mail_share"] - params["air_share"])])
        weights = mode_ok[region] * mode_p
        cum = np.cumsum(weights, axis=1)
        mode = (u[1][:, None] * cum[:, -1:] >= cum).sum(axis=1)
        z = np.sqrt(-2 * np.log(np.maximum(u[2], 1e-300))) * np.cos(2 * np.pi * u[3])
        capacity = params["capacity_kg_per_week_median"] * np.exp(params["capacity_log_sd"] * z)
        mean, conc = params["compliance_mean"], params["compliance_concentration"]
        compliance = beta_quantile(u[4], mean * conc, (1 - mean) * conc)
        self.active[slots] = 1
        self.region[slots] = region
        self.country[slots] = region_country[region]
        self.chemical[slots] = chemical
        self.mode[slots] = np.minimum(mode, 2)
        self.online[slots] = u[5] < params["online_share"]
        self.sanctioned[slots] = 0
        self.compliance[slots] = compliance
        self.capacity_kg_per_week[slots] = capacity
        self.sales_kg[slots] = 0.0


def beta_quantile(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Beta(a, b) quantiles (inverse-CDF draws from uniforms)."""
    from scipy.special import betaincinv

    return betaincinv(max(a, 1e-6), max(b, 1e-6), u)


@dataclass
class Users(Population):
    """People who use illicit opioids; one agent stands for `people_per_agent` people.

    state: EMPTY (a free slot), USING, TREATMENT, DEAD, RECOVERED; tolerance_mg: fentanyl-
    equivalent mg per use the body is used to; region: index into US market regions. Slots are
    stored by region; `region_start`, computed from `region`, is how the users kernel finds
    each region's slots.
    """

    state: np.ndarray           # uint8
    region: np.ndarray          # uint8
    tolerance_mg: np.ndarray    # float32

    @property
    def active(self) -> np.ndarray:
        return self.state

    @classmethod
    def create(cls, n_slots: int, n_using: int, region_share: np.ndarray, heroin_mg: float,
               seed: int) -> Users:
        """n_slots agents, each slot in a region drawn by the regions' shares; n_using of them
        (the first n_using draws) are using at the start. Slots are stored by region (see
        `region_start`), each region's users first."""
        u = rng.draws(seed, rng.SETUP, 0, np.arange(n_slots) + 2**40)
        region = np.searchsorted(np.cumsum(region_share) / region_share.sum(), u, "right")
        region = np.minimum(region, region_share.size - 1).astype(np.uint8)
        state = np.full(n_slots, EMPTY, np.uint8)
        state[:n_using] = USING
        by_region = np.argsort(region, kind="stable")
        return cls(state=state[by_region], region=region[by_region],
                   tolerance_mg=np.full(n_slots, heroin_mg, np.float32))

    def region_start(self, n_regions: int) -> np.ndarray:
        """Where each region's slots begin (int64, n_regions + 1 entries, the last = slots)."""
        if np.any(self.region[1:] < self.region[:-1]):
            raise ValueError("Users.region_start: slots are not stored by region")
        return np.searchsorted(self.region, np.arange(n_regions + 1)).astype(np.int64)
