"""The users' and shipments' rules written as an idiomatic Mesa model: one `mesa.Agent` per
person and per shipment, attributes on the agent, draws from the model's `random`, and
`model.agents.shuffle_do("step")` each week. The rules are those of `sim.kernels.users.step_users`
and `sim.kernels.shipments.inspect` (the random numbers differ: Python's generator, not the
counter-based streams).
"""

from __future__ import annotations

import math

import mesa

from benchmarks.workloads import USER_RULES, Routes, UserWorkload
from sim.kernels.users import ABSTINENT, DEAD, RECOVERED, TREATMENT, USING, region_of, region_terms


class Person(mesa.Agent):
    """One person-agent: state, market region and tolerance (mg per use)."""

    def __init__(self, model: UsersModel, state: int, region: int, tolerance_mg: float):
        super().__init__(model)
        self.state, self.region, self.tolerance_mg = state, region, tolerance_mg

    def step(self) -> None:
        m, p, r = self.model, USER_RULES, self.region
        if self.state in (USING, TREATMENT):
            tol, on_moud = self.tolerance_mg, self.state == TREATMENT
            rate = m.rate * (p["moud_overdose_ratio"] if on_moud else 1.0)
            p_overdose = -math.expm1(-rate * m.dose_g[r] * tol ** -p["hazard_exponent"])
            if not on_moud:
                self.tolerance_mg = max(p["tolerance_min_mg"],
                                        tol + p["tolerance_adapt_rate"] * (m.settled[r] - tol))
            if self.random.random() < p_overdose:
                m.overdoses[r] += 1
                if self.random.random() < m.rules.fatality:
                    self.state = DEAD
                    m.deaths[r] += 1
                elif not on_moud and self.random.random() < p["treatment_after_overdose_prob"]:
                    self.state = TREATMENT
            elif on_moud:
                if self.random.random() < p["treatment_exit_prob"]:
                    self.state = ABSTINENT
            elif self.random.random() < p["treatment_entry_prob"]:
                self.state = TREATMENT
            elif self.random.random() < p["remission_prob"]:
                self.state = RECOVERED
        elif self.state == ABSTINENT:
            self.tolerance_mg = max(p["tolerance_min_mg"],
                                    self.tolerance_mg * (1 - p["tolerance_loss_abstinent"]))
            if self.random.random() < p["abstinence_end_prob"]:
                relapse = self.random.random() < p["relapse_after_treatment_prob"]
                self.state = USING if relapse else RECOVERED
        elif self.random.random() < m.rules.initiation_prob:
            self.state = USING
            self.tolerance_mg = p["heroin_dose_mg"]


class UsersModel(mesa.Model):
    """Person-agents facing one retail market; counts overdoses and deaths per region."""

    def __init__(self, state, tolerance_mg, region_start, rules: UserWorkload, seed: int = 1):
        super().__init__(seed=seed)
        p = USER_RULES
        self.rules = rules
        self.rate = p["uses_per_week"] * p["overdose_hazard_per_use"]
        self.dose_g, self.settled, _ = region_terms(rules.fentanyl_share, rules.fentanyl_mg,
                                                 rules.fentanyl_sigma(), rules.kernel_rules())
        n_regions = rules.fentanyl_share.size
        self.overdoses, self.deaths = [0] * n_regions, [0] * n_regions
        for s, r, t in zip(state.tolist(), region_of(region_start).tolist(), tolerance_mg.tolist(),
                           strict=True):
            Person(self, s, r, t)

    def step(self) -> None:
        self.agents.shuffle_do("step")


class Shipment(mesa.Agent):
    """One fentanyl load on a route; each step it passes the route's customs posts in order."""

    def __init__(self, model: ShipmentsModel, posts: list[int]):
        super().__init__(model)
        self.posts, self.seized_at = posts, -1

    def step(self) -> None:
        m = self.model
        self.seized_at = -1
        for j, post in enumerate(self.posts):
            if m.controls[post] and self.random.random() < m.seize_prob[post]:
                self.seized_at = j
                m.seized += 1
                break


class ShipmentsModel(mesa.Model):
    """Shipment-agents on compiled routes; counts seizures."""

    def __init__(self, route, routes: Routes, seed: int = 1):
        super().__init__(seed=seed)
        self.controls = routes.controls[:, 0].tolist()
        self.seize_prob = routes.seize_prob.tolist()
        self.seized = 0
        ptr, posts = routes.post_ptr, routes.posts
        for r in route.tolist():
            Shipment(self, posts[ptr[r]:ptr[r + 1]].tolist())

    def step(self) -> None:
        self.agents.shuffle_do("step")
