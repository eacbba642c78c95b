"""People who use illicit opioids in the US: a structure of arrays, one slot per person-agent.

State: each slot's `state` (EMPTY, USING, TREATMENT (on medication for opioid use disorder,
MOUD), DEAD, RECOVERED, ABSTINENT (left MOUD, not using)), market `region` and `tolerance_mg`;
per region, people using; people on MOUD; people abstinent.
Weekly rule (`week`): MOUD places are rationed and initiation fills free slots; then the users
kernel (`sim.kernels.users.step_users`) decides each agent's overdose, its cause (a fentanyl
dose or not) and state change.
Parameters: `PARAMS` (group `users`). Columns: `COLUMNS`.
"""

from __future__ import annotations

import numpy as np

from sim.actors.population import Population
from sim.kernels import layout, rng
from sim.kernels.users import (
    C_DEATHS,
    C_ENTERED,
    C_OVERDOSES,
    C_SYNTHETIC,
    USING,
    populate,
    step_users,
    tally,
    user_rules,
)
from sim.parameter import ASSUMPTION, CAULKINS_KILMER, FITTED, NSDUH, Param

PARAMS: dict[str, Param] = {
    "agents": Param(300_000, "agents", "assumption: one agent per ~8 people keeps weekly deaths "
                    "at a few hundred agents", 100, 20_000_000),
    "people_with_oud": Param(2_100_000, "people", NSDUH + "; 2016 level", 1_000, 50_000_000),
    "slot_headroom": Param(1.6, "slots per initial user", "assumption: spare array slots for "
                           "people who start using later", 1.0, 10.0),
    "uses_per_week": Param(14.0, "uses/week", "assumption: about two uses a day", 1.0, 50.0),
    "heroin_dose_mg": Param(0.5, "mg fentanyl-equivalent per use",
                            "assumption: a heroin bag of ~25 mg at ~1/50 fentanyl's potency",
                            0.01, 10.0),
    "fentanyl_dose_target_mg": Param(2.0, "mg pure fentanyl per use at the reference supply",
                                     "DEA lab testing: counterfeit pills averaged 2.2 mg (2021), "
                                     "2.4 (2022), 1.94 (2024); one pill a use "
                                     "(data/observed/dea_pill_potency.csv); " + CAULKINS_KILMER,
                                     0.05, 10.0),
    "fentanyl_dose_max_mg": Param(4.0, "mg pure fentanyl per use",
                                  "assumption: the strongest mean product in a glut, about twice "
                                  "the reference (DEA pills range 0.2-9 mg, 2022)", 0.1, 20.0),
    "dose_sigma_fentanyl": Param(0.8, "log-sd of mg per use", "assumption: uneven mixing "
                                 "('chocolate chip cookie' effect), DEA lab testing of pills",
                                 0.0, 3.0),
    "dose_sigma_heroin": Param(0.3, "log-sd of mg per use", ASSUMPTION, 0.0, 3.0),
    "overdose_hazard_per_use": Param(0.85e-4, "overdoses per use at dose = tolerance",
                                     "assumption, tuned so 2016 deaths are in the tens of "
                                     "thousands" + FITTED, 0.0, 1.0),
    "hazard_exponent": Param(2.0, "dimensionless", "assumption: hazard rises with the square "
                             "of dose over tolerance", 0.5, 6.0),
    "tolerance_adapt_rate": Param(0.15, "1/week", ASSUMPTION, 0.0, 1.0),
    "tolerance_elasticity": Param(0.5, "d log tolerance / d log mean dose",
                                  "assumption: tolerance rises less than in proportion to "
                                  "dose, so stronger supply stays more dangerous" + FITTED,
                                  0.0, 1.0),
    "tolerance_loss_abstinent": Param(0.5, "1/week", "assumption: opioid tolerance falls within "
                                      "days to weeks without opioids (deaths after prison release "
                                      "concentrate in the first two weeks: Merrall et al., "
                                      "Addiction 105:1545, 2010)", 0.0, 1.0),
    "tolerance_min_mg": Param(0.2, "mg fentanyl-equivalent", ASSUMPTION, 0.001, 10.0),
    "overdose_fatality": Param(0.12, "deaths per overdose without naloxone", ASSUMPTION,
                               0.0, 1.0),
    "naloxone_coverage": Param(0.35, "share of overdoses where naloxone is given",
                               "Irvine et al., Lancet Public Health 2022 (58-76% of witnessed "
                               "overdoses) times an assumed ~50% witnessed", 0.0, 1.0),
    "naloxone_efficacy": Param(0.9, "share of naloxone-treated fatal overdoses reversed",
                               ASSUMPTION, 0.0, 1.0),
    "treatment_entry_prob": Param(0.02, "1/week, seeking a MOUD place", "assumption: demand "
                                  "exceeds places, so places bind (Jones et al., AJPH 105:e55, "
                                  "2015: most opioid treatment programs at 80%+ of capacity)",
                                  0.0, 1.0),
    "treatment_after_overdose_prob": Param(0.1, "per non-fatal overdose", ASSUMPTION, 0.0, 1.0),
    "treatment_capacity_people": Param(1_000_000, "people on MOUD (methadone, buprenorphine)",
                                       "NASADAD/AATOD census: 512,224 patients in opioid "
                                       "treatment programs on 1 Jan 2021 (93% methadone), plus "
                                       "buprenorphine dispensed outside them to >700,000 people "
                                       "a year (Williams et al., Am J Psychiatry 177:117, 2020); "
                                       "places are full from the start", 0, 50_000_000),
    "treatment_exit_prob": Param(0.0263, "1/week, leaving MOUD", "about half retained at 6 "
                                 "months (0.5^(1/26)): between 29.5% of buprenorphine patients "
                                 "at 180 days in MarketScan claims (ISPE 2024 abstract) and 61% "
                                 "at one year in the VA (Manhapra et al., Am J Addict 26:572, "
                                 "2017)", 0.0, 1.0),
    "moud_overdose_ratio": Param(0.3, "overdose hazard on MOUD / off it", "Sordo et al., BMJ "
                                 "357:j1550, 2017: overdose mortality 4.8x lower on methadone, "
                                 "2.7x lower on buprenorphine; people on MOUD may still use, "
                                 "less often and partly blocked", 0.0, 1.0),
    "abstinence_end_prob": Param(0.75, "1/week", "assumption: most who leave MOUD return to use "
                                 "within days to weeks; with tolerance_loss_abstinent this gives "
                                 "about 2.5-3x the overdose risk in the weeks after leaving "
                                 "(Cornish et al., BMJ 341:c5475, 2010: deaths 8-9x the "
                                 "on-treatment rate in weeks 1-4 after stopping, 1.9x later)",
                                 0.0, 1.0),
    "relapse_after_treatment_prob": Param(0.9, "share of abstinent spells after MOUD that end in "
                                          "use (the rest recover)", "Weiss et al., Arch Gen "
                                          "Psychiatry 68:1238, 2011 (POATS): 8.6% had successful "
                                          "outcomes after a buprenorphine taper", 0.0, 1.0),
    "remission_prob": Param(0.001, "1/week", "assumption: ~5% a year stop without treatment",
                            0.0, 1.0),
    "initiation_people_per_week": Param(5_300, "people/week", "assumption: balances exits "
                                        "(deaths, remission, recovery after MOUD) so the "
                                        "population stays near NSDUH's 2-2.5 million",
                                        0, 1_000_000),
}

# column: (unit, how a run's total is formed: "sum" over weeks or "mean" of weekly values)
COLUMNS = {
    "overdose_deaths": ("people/week", "sum"),                # all opioid overdose deaths
    "synthetic_opioid_deaths": ("people/week", "sum"),        # fentanyl's (NCHS T40.4)
    "users_active": ("people", "mean"),
    "users_in_treatment": ("people", "mean"),                 # on MOUD
    "overdoses": ("people/week (fatal and non-fatal)", "sum"),
    "treatment_entries": ("people/week", "sum"),
}


class Users(Population):
    """People who use illicit opioids, on MOUD or abstinent after it; one agent stands for
    `people_per_agent` people.

    Slots are stored by region; `region_start`, computed from `region`, is how the users kernel
    finds each region's slots. Per-slot arrays: state (uint8), region (uint8), tolerance_mg
    (float32, fentanyl-equivalent mg per use the body is used to)."""

    slot_arrays = ("state", "region", "tolerance_mg")

    def __init__(self, state: np.ndarray, region: np.ndarray, tolerance_mg: np.ndarray):
        self.state, self.region, self.tolerance_mg = state, region, tolerance_mg

    @classmethod
    def create(cls, n_slots: int, n_using: int, region_share: np.ndarray, heroin_mg: float,
               seed: int, n_treated: int = 0) -> Users:
        """n_slots agents, each slot in a region drawn by the regions' shares; n_using of them
        (the first n_using draws) are using at the start, the next n_treated on MOUD. Slots
        are stored by region (see `region_start`), each region's users first."""
        if n_using + n_treated > n_slots:
            raise ValueError("Users.create: more people than slots")
        state, region = populate(rng.stream_key(seed, rng.SETUP, 0),
                                 layout.user_setup_index(0), n_slots, n_using, n_treated,
                                 np.cumsum(region_share) / region_share.sum())
        return cls(state=state, region=region,
                   tolerance_mg=np.full(n_slots, heroin_mg, np.float32))

    @classmethod
    def build(cls, params: dict, region_share: np.ndarray, seed: int) -> Users:
        """The model's population: `params["agents"]` using agents standing for
        `params["people_with_oud"]` people, in regions by `region_share`, and MOUD's places
        (`params["treatment_capacity_people"]`) full, as far as the spare slots allow."""
        n_slots = layout.user_slots(params["agents"], params["slot_headroom"])
        people_per_agent = params["people_with_oud"] / params["agents"]
        n_treated = min(round(params["treatment_capacity_people"] / people_per_agent),
                        n_slots - params["agents"])
        users = cls.create(n_slots, params["agents"], region_share, params["heroin_dose_mg"],
                           seed, n_treated)
        users.params = params
        users.people_per_agent = people_per_agent
        users.slot_start = users.region_start(region_share.size)
        users.people_using = np.bincount(users.region[users.state == USING],
                                         minlength=region_share.size) * people_per_agent
        users.people_using_total = users.people_using.sum()
        users.people_in_treatment = n_treated * people_per_agent
        users.people_abstinent = 0.0
        users.counts = None   # the last week's counts[row, region] (agents), for views
        users.totals = None   # and their sums over regions, counts[row] (agents)
        # the week's rules but for those the week's levers and places set (`week`)
        users.fixed_rules = user_rules(
            heroin_dose_mg=params["heroin_dose_mg"], uses_per_week=params["uses_per_week"],
            hazard_per_use=params["overdose_hazard_per_use"],
            hazard_exponent=params["hazard_exponent"], sigma_heroin=params["dose_sigma_heroin"],
            fatality=0.0, treatment_entry_prob=0.0, treatment_after_overdose_prob=0.0,
            treatment_exit_prob=params["treatment_exit_prob"],
            moud_overdose_ratio=params["moud_overdose_ratio"],
            abstinence_end_prob=params["abstinence_end_prob"],
            relapse_prob=params["relapse_after_treatment_prob"],
            remission_prob=params["remission_prob"], initiation_prob=0.0,
            tolerance_adapt_rate=params["tolerance_adapt_rate"],
            tolerance_elasticity=params["tolerance_elasticity"],
            tolerance_loss=params["tolerance_loss_abstinent"],
            tolerance_min_mg=params["tolerance_min_mg"])
        return users

    def region_start(self, n_regions: int) -> np.ndarray:
        """Where each region's slots begin (int64, n_regions + 1 entries, the last = slots)."""
        if np.any(self.region[1:] < self.region[:-1]):
            raise ValueError("Users.region_start: slots are not stored by region")
        return np.searchsorted(self.region, np.arange(n_regions + 1)).astype(np.int64)

    def week(self, levers, retail, seed: int, week: int) -> np.ndarray:
        """One week of use on each region's retail market (`sim.actors.retail.Retail`: share of
        doses with fentanyl, their mean mg and its log-sd):
        MOUD entry is rationed to free places (levers' capacity), initiation fills idle slots
        at the weekly number of people starting; returns counts[row, region] (agents)."""
        p = self.params
        ppa = self.people_per_agent
        using_people = self.people_using_total
        free_places = max(0.0, levers.treatment_capacity_people - self.people_in_treatment)
        wanted = using_people * p["treatment_entry_prob"]
        room = min(1.0, free_places / max(wanted * levers.treatment_entry_multiplier, 1e-12))
        entry_prob = p["treatment_entry_prob"] * levers.treatment_entry_multiplier * room
        idle_agents = max(1.0, len(self) - (using_people + self.people_in_treatment
                                            + self.people_abstinent) / ppa)
        init_prob = min(1.0, p["initiation_people_per_week"] * levers.initiation_multiplier
                        / ppa / idle_agents)
        fatality = p["overdose_fatality"] * (1 - levers.naloxone_coverage
                                             * p["naloxone_efficacy"])
        rules = self.fixed_rules._replace(
            fatality=float(fatality), treatment_entry_prob=float(entry_prob),
            treatment_after_overdose_prob=float(p["treatment_after_overdose_prob"] * room),
            initiation_prob=float(init_prob))
        counts = step_users(self.state, self.tolerance_mg, self.slot_start, retail.fentanyl_share,
                            retail.fentanyl_mg, retail.fentanyl_sigma, rules,
                            rng.stream_key(seed, rng.OVERDOSE, week),
                            rng.stream_key(seed, rng.STATE_CHANGE, week))
        (self.totals, self.people_using, self.people_using_total, self.people_in_treatment,
         self.people_abstinent) = tally(counts, ppa)
        self.counts = counts
        return counts

    def observe(self) -> dict[str, float]:
        """This week's columns (people, scaled up from agents)."""
        ppa, totals = self.people_per_agent, self.totals
        return {"overdose_deaths": totals[C_DEATHS] * ppa,
                "synthetic_opioid_deaths": totals[C_SYNTHETIC] * ppa,
                "users_active": self.people_using_total,
                "users_in_treatment": self.people_in_treatment,
                "overdoses": totals[C_OVERDOSES] * ppa,
                "treatment_entries": totals[C_ENTERED] * ppa}


def users_week(model, week) -> None:
    """Phase: the users' week on this week's retail market."""
    model.users.week(model.levers, week.retail, model.seed, week.number)
