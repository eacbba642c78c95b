"""The dashboard's policy levers, turned into ordinary dated policies.

Each lever left at its "no change" value adds nothing; each one moved adds one policy of a
registered type (see `sim.policies`), starting on 1 January of `from_year`, so the classroom
runs exactly the rules an analyst's scenario file would.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from sim.config import Scenario, freeze, thaw
from sim.policies import build_policy
from sim.validation import Source

CLASSROOM_SOURCE = Source(file="classroom levers")
CHINA_STANCES = ("suspend", "as now", "deal")   # China's cooperation toward the US


@dataclass(frozen=True)
class ClassroomLevers:
    """Lever settings; the defaults change nothing."""

    from_year: int = 2020            # year the levers' policies start (1 January)
    sanctions: bool = False          # US sanctions on the largest Chinese firms
    sanctioned_firms: int = 32       # firms designated (Apr 2023 OFAC: about 30)
    sanctions_institute: bool = False  # also list China's Institute of Forensic Science
    taskforce_china: bool = False    # a taskforce with the US: China a member
    taskforce_mexico: bool = False   # Mexico a member
    taskforce_india: bool = False    # India a member
    us_customs_capacity: float = 1.0  # x inspections at every US customs post
    guns_stopped: float = 0.0        # share of the southbound US gun flow stopped
    treatment: float = 1.0           # x US treatment places and outreach
    naloxone: float = 0.0            # share of overdoses reached with naloxone (0: no change)
    china_enforcement: float = 0.0   # added to China's enforcement against makers (0-1)
    china_class_control: bool = False  # China controls the pre-precursors as a class
    china_stance: str = "as now"     # China's cooperation toward the US (CHINA_STANCES)
    mexico_ports: float = 1.0        # x Mexican customs inspections at its ports
    mexico_labs: float = 1.0         # x Mexican lab raid attempts

    def policy_specs(self, world: dict) -> list[dict]:
        """The YAML-style policy entries these settings stand for; each `id` names the lever
        group it comes from (teams mode ends and starts a group's policy when it changes)."""
        start, year = f"{self.from_year}-01-01", self.from_year
        specs = []
        if self.sanctions:
            specs.append({"type": "sanctions", "id": "us_sanctions", "firms": self.sanctioned_firms,
                          "institute": self.sanctions_institute,
                          "label": f"{year}: US sanctions {self.sanctioned_firms} Chinese firms"
                                   + (" and the Institute" if self.sanctions_institute else "")})
        partners = [c for c, on in (("china", self.taskforce_china),
                                    ("mexico", self.taskforce_mexico),
                                    ("india", self.taskforce_india)) if on]
        if partners:
            specs.append({"type": "taskforce", "id": "taskforce", "members": ["us", *partners],
                          "label": f"{year}: taskforce of the US with "
                                   f"{' and '.join(p.title() for p in partners)}"})
        if self.us_customs_capacity > 1.0:
            us_posts = [post["name"] for agency in world["customs_agencies"]
                        if agency["country"] == "us" for post in agency["posts"]]
            specs.append({"type": "customs_surge", "id": "us_customs", "posts": us_posts,
                          "inspections_multiplier": self.us_customs_capacity,
                          "label": f"{year}: US customs inspections x{self.us_customs_capacity:g}"})
        if self.guns_stopped > 0.0:
            specs.append({"type": "arms_control", "id": "us_arms", "reduction": self.guns_stopped,
                          "label": f"{year}: US stops {self.guns_stopped:.0%} of guns flowing "
                                   "south"})
        if self.treatment != 1.0 or self.naloxone > 0.0:
            specs.append({"type": "demand_reduction", "id": "us_demand", "prevention": 0.0,
                          "treatment_capacity_multiplier": self.treatment,
                          "treatment_entry_multiplier": self.treatment,
                          "naloxone_coverage": self.naloxone,
                          "label": f"{year}: US treatment x{self.treatment:g}, naloxone at "
                                   f"{self.naloxone:.0%} of overdoses"})
        if self.china_enforcement > 0.0:   # China's own crackdown: no condition on sanctions
            specs.append({"type": "bilateral_deal", "id": "china_enforcement",
                          "cooperation_boost": 0.0, "enforcement_bonus": self.china_enforcement,
                          "requires_sanction_lifted": False,
                          "label": f"{year}: China enforces more against makers "
                                   f"(+{self.china_enforcement:.2f})"})
        if self.china_class_control:
            specs.append({"type": "class_scheduling", "id": "china_scheduling",
                          "regulator": "china", "classes": ["pre_precursors"],
                          "label": f"{year}: China controls the pre-precursors as a class"})
        if self.china_stance == "suspend":
            specs.append({"type": "diplomatic_shock", "id": "china_stance",
                          "label": f"{year}: China suspends cooperation with the US"})
        elif self.china_stance == "deal":   # China conditions a deal on lifting the Institute's
            specs.append({"type": "bilateral_deal", "id": "china_stance",
                          "label": f"{year}: China makes a deal with the US"})
        if self.mexico_ports != 1.0 or self.mexico_labs != 1.0:
            specs.append({"type": "mexico_enforcement", "id": "mexico_enforcement",
                          "port_inspections_multiplier": self.mexico_ports,
                          "port_intel_bonus": 0.0, "lab_raid_multiplier": self.mexico_labs,
                          "label": f"{year}: Mexico inspects its ports x{self.mexico_ports:g} and "
                                   f"raids labs x{self.mexico_labs:g}"})
        return [{**spec, "start": start} for spec in specs]

    def apply(self, scenario: Scenario) -> Scenario:
        """`scenario` with these levers' policies added (validated like a scenario file's)."""
        specs = self.policy_specs(scenario.world)
        added = [lever_policy(spec, scenario, i) for i, spec in enumerate(specs)]
        resolved = thaw(scenario.resolved)
        resolved["policies"] = resolved.get("policies", []) + specs
        return replace(scenario, policies=scenario.policies + tuple(added),
                       resolved=freeze(resolved))


def lever_policy(spec: dict, scenario: Scenario, i: int = 0):
    """One of `policy_specs`'s entries as a policy of `scenario` (validated like a file's)."""
    return build_policy(spec, CLASSROOM_SOURCE, ("levers", i), scenario.start, scenario.world)


LEVER_FIELDS = {f.name for f in fields(ClassroomLevers)}


@dataclass(frozen=True)
class LeverInput:
    """How a setting appears on a page: plain words, its range and how its value reads. The
    control follows the default's type: a switch (bool), a slider (int, float) or buttons
    (`choices`)."""

    name: str          # a `ClassroomLevers` field, or a model argument (seed, classroom_size)
    label: str
    low: float = 0.0
    high: float = 1.0
    step: float = 1.0
    reads: str = "{}"  # the value in words, e.g. "x{:g} today's"
    choices: tuple[str, ...] = ()

    def shows(self, value) -> str:
        """The value with its unit, in words."""
        if isinstance(value, bool):
            return "on" if value else "off"
        return self.reads.format(value)

    def accepts(self, value) -> bool:
        """Whether `value` is one this input can take (a server's check on what a page sent)."""
        if self.choices:
            return value in self.choices
        if self.step == 0:
            return isinstance(value, bool)
        return (isinstance(value, int | float) and not isinstance(value, bool)
                and self.low <= value <= self.high)


def switch(name: str, label: str) -> LeverInput:
    return LeverInput(name, label, step=0)


# the page's levers, in the order shown (solo page: the US and its partners)
FROM_YEAR = LeverInput("from_year", "Levers act from", 2016, 2030, 1, "{} (1 January)")
SANCTIONS = switch("sanctions", "US sanctions on Chinese firms")
FIRMS = LeverInput("sanctioned_firms", "Firms sanctioned", 5, 200, 5, "{} firms")
INSTITUTE = switch("sanctions_institute", "...and China's forensic institute")
TASKFORCE_CHINA = switch("taskforce_china", "Taskforce with China")
TASKFORCE_MEXICO = switch("taskforce_mexico", "Taskforce with Mexico")
TASKFORCE_INDIA = switch("taskforce_india", "Taskforce with India")
CUSTOMS = LeverInput("us_customs_capacity", "US customs inspections", 1.0, 5.0, 0.5,
                     "x{:g} today's")
GUNS = LeverInput("guns_stopped", "Guns stopped going south", 0.0, 1.0, 0.1,
                  "{:.0%} of the flow")
TREATMENT = LeverInput("treatment", "US treatment places", 0.5, 3.0, 0.25, "x{:g} today's")
NALOXONE = LeverInput("naloxone", "Naloxone reaches", 0.0, 0.9, 0.1, "{:.0%} of overdoses")
CHINA_ENFORCEMENT = LeverInput("china_enforcement", "China's crackdown on makers", 0.0, 0.4,
                               0.05, "+{:.2f} enforcement")
CHINA_CLASS = switch("china_class_control", "China controls a whole class")
CHINA_STANCE = LeverInput("china_stance", "Cooperation with the US", reads="{}",
                          choices=CHINA_STANCES)
MEXICO_PORTS = LeverInput("mexico_ports", "Mexico's port inspections", 1.0, 5.0, 0.5,
                          "x{:g} today's")
MEXICO_LABS = LeverInput("mexico_labs", "Mexico's lab raids", 1.0, 5.0, 0.5, "x{:g} today's")
SOLO_LEVERS = (FROM_YEAR, SANCTIONS, FIRMS, INSTITUTE, TASKFORCE_CHINA, TASKFORCE_MEXICO,
               TASKFORCE_INDIA, CUSTOMS, GUNS, TREATMENT, NALOXONE)
