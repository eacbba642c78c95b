"""The parameter table: every default with its unit and source (or "assumption").

One table, in the style of Starsim/Covasim: a scenario's `parameters:` block overrides
entries by their dotted path (`cartels.learning_rate`). Ranges are checked on load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """A default value with its unit, its source and the range a scenario may set."""

    value: Any
    unit: str
    source: str
    low: float | None = None
    high: float | None = None


ASSUMPTION = "assumption"
NSDUH = "SAMHSA NSDUH (about 2.1-2.5 million US adults with opioid use disorder, 2016-2021)"
NARCOLOGIC = "Magliocca et al., PNAS 116(16):7784, 2019 (NarcoLogic)"
CAULKINS_KILMER = "Caulkins & Kilmer: pills hold 2-2.5 mg and sell for $5-10"
FITTED = "; scenarios/baseline.yaml sets a fitted value (docs/calibration.md)"

TABLE: dict[str, dict[str, Param]] = {
    "users": {
        "agents": Param(300_000, "agents", "assumption: one agent per ~8 people keeps weekly deaths "
                        "at a few hundred agents", 100, 20_000_000),
        "people_with_oud": Param(2_100_000, "people", NSDUH + "; 2016 level", 1_000, 50_000_000),
        "slot_headroom": Param(1.6, "slots per initial user", "assumption: spare array slots for "
                               "people who start using later", 1.0, 10.0),
        "uses_per_week": Param(14.0, "uses/week", "assumption: about two uses a day", 1.0, 50.0),
        "heroin_dose_mg": Param(0.5, "mg fentanyl-equivalent per use",
                                "assumption: a heroin bag of ~25 mg at ~1/50 fentanyl's potency",
                                0.01, 10.0),
        "fentanyl_dose_target_mg": Param(1.0, "mg pure fentanyl per use",
                                         CAULKINS_KILMER + "; about half a pill per use" + FITTED,
                                         0.05, 10.0),
        "fentanyl_dose_max_mg": Param(2.5, "mg pure fentanyl per use",
                                      "assumption: dealers cut no weaker than one pill's content",
                                      0.1, 20.0),
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
        "tolerance_loss_in_treatment": Param(0.1, "1/week", "assumption: tolerance falls in "
                                             "abstinence, raising risk on relapse", 0.0, 1.0),
        "tolerance_min_mg": Param(0.2, "mg fentanyl-equivalent", ASSUMPTION, 0.001, 10.0),
        "overdose_fatality": Param(0.12, "deaths per overdose without naloxone", ASSUMPTION,
                                   0.0, 1.0),
        "naloxone_coverage": Param(0.35, "share of overdoses where naloxone is given",
                                   "Irvine et al., Lancet Public Health 2022 (58-76% of witnessed "
                                   "overdoses) times an assumed ~50% witnessed", 0.0, 1.0),
        "naloxone_efficacy": Param(0.9, "share of naloxone-treated fatal overdoses reversed",
                                   ASSUMPTION, 0.0, 1.0),
        "treatment_entry_prob": Param(0.003, "1/week", "assumption: ~15% enter treatment a year",
                                      0.0, 1.0),
        "treatment_after_overdose_prob": Param(0.1, "per non-fatal overdose", ASSUMPTION, 0.0, 1.0),
        "treatment_capacity_people": Param(600_000, "people", "assumption after SAMHSA N-SUMHSS "
                                           "counts of people in medication treatment", 0,
                                           50_000_000),
        "treatment_exit_prob": Param(0.02, "1/week", "assumption: mean stay about a year",
                                     0.0, 1.0),
        "relapse_after_treatment_prob": Param(0.7, "share of leavers who return to use",
                                              ASSUMPTION, 0.0, 1.0),
        "remission_prob": Param(0.001, "1/week", "assumption: ~5% a year stop without treatment",
                                0.0, 1.0),
        "initiation_people_per_week": Param(4_500, "people/week", "assumption: balances exits so "
                                            "the population stays near NSDUH's 2-2.5 million",
                                            0, 1_000_000),
    },
    "market": {
        "retail_price_ref_usd_per_mg": Param(3.0, "US$/mg pure", CAULKINS_KILMER, 0.01, 1000.0),
        "price_scarcity_exponent": Param(0.5, "dimensionless", "assumption: price rises with the "
                                         "square root of shortage", 0.0, 3.0),
        "fentanyl_share_2016": Param(0.1, "share of retail doses containing fentanyl in 2016",
                                     "assumption after RAND RR3117 (fentanyl spread through "
                                     "eastern heroin markets from 2014)" + FITTED, 0.0, 1.0),
        "retail_turnover": Param(0.5, "share of retail stock sold per week", ASSUMPTION, 0.01, 1.0),
        "wholesale_price_ref_usd_per_kg": Param(40_000, "US$/kg pure at the US border",
                                                "assumption between ~$10,000/kg in Mexico "
                                                "(Caulkins & Kilmer) and retail", 100, 1e7),
    },
    "makers": {
        "firms": Param(1_500, "firms", "assumption: 'small chemical and pharmaceutical companies' "
                       "(seed article 000), 1,000-2,000", 1, 1_000_000),
        "slot_headroom": Param(2.0, "slots per initial firm", "assumption: spare slots for "
                               "entrants", 1.0, 10.0),
        "capacity_kg_per_week_median": Param(1.0, "kg/week", ASSUMPTION, 0.001, 10_000.0),
        "capacity_log_sd": Param(1.0, "log-sd", ASSUMPTION, 0.0, 3.0),
        "compliance_mean": Param(0.4, "0-1", ASSUMPTION, 0.0, 1.0),
        "compliance_concentration": Param(4.0, "beta a+b", ASSUMPTION, 0.1, 1000.0),
        "online_share": Param(0.6, "share of firms selling on online marketplaces",
                              "assumption; NPR on Alibaba listings (seed article 004)", 0.0, 1.0),
        "mail_share": Param(0.4, "share of firms shipping by mail/express",
                            "seed article 004 (mail, express)", 0.0, 1.0),
        "air_share": Param(0.3, "share shipping by air cargo (rest by sea)", ASSUMPTION, 0.0, 1.0),
        "finished_share_2016": Param(0.3, "share of firms selling finished fentanyl-related "
                                     "substances in 2016", "assumption; seed article 004 (China "
                                     "shipped finished fentanyl before May 2019)", 0.0, 1.0),
        "switch_lag_weeks": Param(12.0, "weeks (mean)", "assumption: makers switch to the next "
                                  "analog of the same class within months (INCB)", 1.0, 520.0),
        "new_route_lag_weeks": Param(40.0, "weeks (mean)", "assumption: moving to another "
                                     "analog class needs a new synthesis route", 1.0, 1000.0),
        "entry_per_week_max": Param(4.0, "firms/week at full unmet demand", ASSUMPTION, 0.0, 1000.0),
        "raid_rate": Param(0.01, "1/week at full enforcement, controlled chemical", ASSUMPTION,
                           0.0, 1.0),
        "online_raid_exposure": Param(1.5, "raid multiplier for online sellers", ASSUMPTION,
                                      1.0, 10.0),
    },
    "cartels": {
        "learning_rate": Param(0.36, "1/week", NARCOLOGIC + ": trafficker learning rate",
                               0.0, 1.0),
        "risk_aversion": Param(8.0, "utility per unit expected loss share", ASSUMPTION, 0.0, 100.0),
        "route_cost_weight": Param(40.0, "utility per (route cost / wholesale price)", ASSUMPTION,
                                   0.0, 100.0),
        "route_loss_prior": Param(0.1, "share of kg lost", ASSUMPTION, 0.0, 1.0),
        "route_forgetting_rate": Param(0.02, "1/week", "assumption: unused routes drift back "
                                       "toward the prior", 0.0, 1.0),
        "load_size_kg": Param(1.0, "kg pure fentanyl per load", "assumption: a car load of pills "
                              "or powder", 0.01, 1000.0),
        "lab_output_kg_per_week": Param(3.0, "kg pure fentanyl per lab per week", ASSUMPTION,
                                        0.01, 1000.0),
        "lab_build_rate": Param(0.1, "share of lab shortfall closed per week", ASSUMPTION, 0.0, 1.0),
        "expansion_rate": Param(0.02, "1/week growth of sales target at full price premium",
                                "assumption: the fentanyl share spread over 2014-2020 "
                                "(RAND RR3117: 'episodically fast')" + FITTED, 0.0, 1.0),
        "stock_cover_weeks": Param(3.0, "weeks of expected sales held", ASSUMPTION, 0.0, 52.0),
        "order_cap_weeks": Param(2.0, "weeks of target sales ordered at most in one week",
                                 ASSUMPTION, 0.1, 52.0),
        "supply_memory_rate": Param(0.1, "1/week", "assumption: weight of the latest week in a "
                                    "cartel's average of what it supplied (about ten weeks' "
                                    "memory)", 0.0, 1.0),
        "target_supply_cap": Param(2.0, "x average weekly supply", "assumption: a cartel plans no "
                                   "more than twice what it has lately supplied", 1.0, 100.0),
        "price_premium_floor": Param(-0.5, "retail price / reference price - 1", "assumption: "
                                     "the largest price drop a sales target responds to",
                                     -1.0, 0.0),
        "price_premium_ceiling": Param(1.0, "retail price / reference price - 1", "assumption: "
                                       "the largest price rise a sales target responds to",
                                       0.0, 100.0),
        "lab_headroom": Param(1.25, "labs held per lab the sales target needs", ASSUMPTION,
                              1.0, 10.0),
        "supplier_links_max": Param(24, "links", ASSUMPTION, 1, 256),
        "supplier_search_prob": Param(2.0, "sellers met/week via marketplaces and brokers",
                                      ASSUMPTION, 0.0, 10.0),
        "broker_search_factor": Param(0.3, "search rate for offline sellers relative to online",
                                      ASSUMPTION, 0.0, 1.0),
        "link_loss_on_seizure": Param(0.7, "chance a seized shipment ends the link", ASSUMPTION,
                                      0.0, 1.0),
        "guns_south_per_year": Param(200_000, "firearms/year", "GAO-21-322 (Mexican government "
                                     "estimate)", 0, 10_000_000),
        "guns_per_strength_unit": Param(50_000, "firearms/year for armed strength 1",
                                        "assumption: Sinaloa's ~40% of 200,000 guns a year gives "
                                        "strength 1.6", 1, 10_000_000),
        "armed_decay_per_week": Param(0.01, "1/week", "assumption: weapons lost or worn out over "
                                      "about two years", 0.0, 1.0),
        "armed_deterrence": Param(1.5, "raid success = 1 / (1 + this x armed strength)", ASSUMPTION,
                                  0.0, 100.0),
        "lab_raid_rate": Param(0.02, "raid attempts per lab per week at Mexican enforcement 1",
                               ASSUMPTION, 0.0, 1.0),
        "mexico_enforcement": Param(0.5, "0-1", ASSUMPTION, 0.0, 1.0),
    },
    "customs": {
        "capacity_multiplier": Param(1.0, "x every post's inspections", "lever (1 = status quo)",
                                     0.0, 100.0),
        "learning_rate": Param(0.2, "1/week", "assumption after " + NARCOLOGIC + ": interdiction "
                               "learning rate 0.6 a month", 0.0, 1.0),
        "max_shift_per_week": Param(0.05, "share of an agency's inspections", ASSUMPTION,
                                    0.0, 1.0),
        "evidence_kg_per_week": Param(1.0, "kg of seizure evidence a week at which an agency "
                                      "weighs its yield estimates and its base split equally",
                                      ASSUMPTION, 0.001, 1e9),
        "min_post_share": Param(0.3, "share of a post's base share it always keeps",
                                "assumption: legal duties keep every post staffed", 0.0, 1.0),
        "partner_intel_weight": Param(0.5, "weight of partners' seizures in the update",
                                      "assumption; used while a taskforce or coalition shares "
                                      "intelligence", 0.0, 10.0),
        "targeting_gain": Param(20.0, "hit-rate multiplier at intel 1", "assumption: risk targeting "
                                "and scanning make an examination ~10x likelier to hit", 0.0, 1000.0),
    },
    "regulators": {
        "china_cooperation_initial": Param(0.6, "0-1", "assumption: working cooperation in 2016 "
                                           "(Brookings, via seed article 004)", 0.0, 1.0),
        "china_cooperation_base": Param(0.55, "0-1", ASSUMPTION, 0.0, 1.0),
        "china_cooperation_adjust_rate": Param(0.05, "1/week", ASSUMPTION, 0.0, 1.0),
        "china_enforcement_min": Param(0.15, "0-1 at cooperation 0", ASSUMPTION, 0.0, 1.0),
        "china_enforcement_max": Param(0.9, "0-1 at cooperation 1", ASSUMPTION, 0.0, 1.0),
        "india_enforcement": Param(0.4, "0-1", ASSUMPTION, 0.0, 1.0),
        "watchlist_pressure_share": Param(0.15, "share of full pressure on uncontrolled "
                                          "chemicals", "assumption: know-your-customer checks "
                                          "and watch lists (BIS testimony, Dec 2023)", 0.0, 1.0),
        "un_detection_lag_weeks": Param(200, "weeks", "assumption: 4-AP became common about 2018, "
                                        "UN control Nov 2022 (events.csv)", 1, 2000),
        "detection_seizure_kg": Param(20.0, "kg seized per extra week of evidence",
                                      "assumption: seized and tested samples speed up listing",
                                      0.001, 1e9),
        "detection_share_threshold": Param(0.15, "share of precursor kg shipped", ASSUMPTION,
                                           0.0, 1.0),
        "un_share_memory_rate": Param(0.1, "1/week", "assumption: weight of the latest week in "
                                      "the precursor shares the UN watches", 0.0, 1.0),
        "china_adoption_lag_weeks": Param(17, "weeks after UN control at cooperation 1",
                                          "events.csv: NPP/ANPP UN Oct 2017 -> China Feb 2018",
                                          0, 2000),
        "china_adoption_lag_weeks_uncooperative": Param(95, "weeks at cooperation 0",
                                                        "events.csv: 4-AP UN Nov 2022 -> China "
                                                        "Sep 2024", 0, 2000),
        "mexico_adoption_lag_weeks": Param(26, "weeks after UN control", ASSUMPTION, 0, 2000),
        "india_adoption_lag_weeks": Param(52, "weeks after UN control", ASSUMPTION, 0, 2000),
        "us_adoption_lag_weeks": Param(13, "weeks after UN control", ASSUMPTION, 0, 2000),
    },
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
