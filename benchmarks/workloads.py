"""The populations every benchmark runs: the same users and shipments for the Numba kernels, the
NumPy twins and the Mesa reference, built from a fixed seed.

Users: 60% using, 10% on MOUD, 30% idle (free slot, dead or recovered), five regions, the
parameter table's default user rules and a fixed retail market. Shipments: fentanyl loads on 64
routes of one to four customs posts (of 24), every post controlling fentanyl, seizure
probabilities of 1-8% per post.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernels import rng
from sim.kernels.users import EMPTY, TREATMENT, USING, UserRules, user_rules
from sim.params import TABLE

N_REGIONS, N_ROUTES, N_POSTS = 5, 64, 24
STATE_MIX = {USING: 0.6, TREATMENT: 0.1, EMPTY: 0.3}
USER_RULES = {key: param.value for key, param in TABLE["users"].items()}


@dataclass
class UserWorkload:
    """What `step_users` takes besides the arrays, for one week (units as in `sim.params`)."""

    fentanyl_share: np.ndarray   # per region, 0-1
    fentanyl_mg: np.ndarray      # per region, mg per fentanyl dose
    fatality: float
    initiation_prob: float

    def kernel_args(self, week: int) -> tuple:
        """Arguments after (state, tolerance_mg, region_start), in `step_users` order."""
        keys = [rng.stream_key(7, s, week) for s in (rng.OVERDOSE, rng.STATE_CHANGE)]
        return (self.fentanyl_share, self.fentanyl_mg, self.fentanyl_sigma(), self.kernel_rules(),
                *keys)

    def fentanyl_sigma(self) -> np.ndarray:
        """Per region: the table's log-sd of mg in a fentanyl dose."""
        return np.full(self.fentanyl_share.size, USER_RULES["dose_sigma_fentanyl"])

    def kernel_rules(self) -> UserRules:
        """The kernels' rules record: the table's defaults with this workload's fatality and
        initiation."""
        p = USER_RULES
        return user_rules(
            heroin_dose_mg=p["heroin_dose_mg"], uses_per_week=p["uses_per_week"],
            hazard_per_use=p["overdose_hazard_per_use"], hazard_exponent=p["hazard_exponent"],
            sigma_heroin=p["dose_sigma_heroin"],
            fatality=self.fatality, treatment_entry_prob=p["treatment_entry_prob"],
            treatment_after_overdose_prob=p["treatment_after_overdose_prob"],
            treatment_exit_prob=p["treatment_exit_prob"],
            moud_overdose_ratio=p["moud_overdose_ratio"],
            abstinence_end_prob=p["abstinence_end_prob"],
            relapse_prob=p["relapse_after_treatment_prob"], remission_prob=p["remission_prob"],
            initiation_prob=self.initiation_prob, tolerance_adapt_rate=p["tolerance_adapt_rate"],
            tolerance_elasticity=p["tolerance_elasticity"],
            tolerance_loss=p["tolerance_loss_abstinent"],
            tolerance_min_mg=p["tolerance_min_mg"])


def user_workload() -> UserWorkload:
    p = USER_RULES
    return UserWorkload(fentanyl_share=np.linspace(0.4, 0.8, N_REGIONS),
                     fentanyl_mg=np.linspace(0.8, 1.4, N_REGIONS),
                     fatality=p["overdose_fatality"] * (1 - p["naloxone_coverage"]
                                                        * p["naloxone_efficacy"]),
                     initiation_prob=0.002)


def users(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(state uint8, tolerance_mg float32, region_start int64) for n agents, stored by region as
    in `sim.actors.users`: five regions of n/5."""
    g = np.random.default_rng(1)
    state = g.choice(np.array(list(STATE_MIX), np.uint8), n, p=list(STATE_MIX.values()))
    tolerance_mg = g.uniform(0.3, 1.5, n).astype(np.float32)
    return state, tolerance_mg, np.linspace(0, n, N_REGIONS + 1).astype(np.int64)


@dataclass
class Routes:
    """Compiled routes as `inspect` takes them: route r passes posts[post_ptr[r]:post_ptr[r+1]]."""

    post_ptr: np.ndarray     # int64, N_ROUTES + 1
    posts: np.ndarray        # int64
    controls: np.ndarray     # bool [post, product]: product 0 is fentanyl, controlled everywhere
    seize_prob: np.ndarray   # per post, per inspection pass


def routes() -> Routes:
    g = np.random.default_rng(2)
    lengths = g.integers(1, 5, N_ROUTES)
    return Routes(post_ptr=np.r_[0, np.cumsum(lengths)].astype(np.int64),
                  posts=g.integers(0, N_POSTS, lengths.sum()).astype(np.int64),
                  controls=np.ones((N_POSTS, 1), bool),
                  seize_prob=g.uniform(0.01, 0.08, N_POSTS))


def shipments(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(route, product, item_key) for n fentanyl loads, as `inspect` takes them."""
    g = np.random.default_rng(3)
    return (g.integers(0, N_ROUTES, n).astype(np.int64), np.zeros(n, np.int64),
            np.arange(n, dtype=np.int64))
