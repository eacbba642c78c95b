"""The dashboard's policy levers, turned into ordinary dated policies.

Each lever left at its "no change" value adds nothing; each one moved adds one policy of a
registered type (see `sim.policies`), starting on 1 January of `from_year`, so the classroom
runs exactly the rules an analyst's scenario file would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sim.config import Scenario, freeze, thaw
from sim.policies import build_policy
from sim.validation import Source

CLASSROOM_SOURCE = Source(file="classroom levers")


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

    def policy_specs(self, world: dict) -> list[dict]:
        """The YAML-style policy entries these settings stand for."""
        start = f"{self.from_year}-01-01"
        specs = []
        if self.sanctions:
            specs.append({"type": "sanctions", "start": start, "firms": self.sanctioned_firms,
                          "institute": self.sanctions_institute,
                          "label": f"{self.from_year}: US sanctions {self.sanctioned_firms} "
                                   "Chinese firms" + (" and the Institute"
                                                      if self.sanctions_institute else "")})
        partners = [c for c, on in (("china", self.taskforce_china),
                                    ("mexico", self.taskforce_mexico),
                                    ("india", self.taskforce_india)) if on]
        if partners:
            specs.append({"type": "taskforce", "start": start, "members": ["us", *partners],
                          "label": f"{self.from_year}: taskforce of the US with "
                                   f"{' and '.join(p.title() for p in partners)}"})
        if self.us_customs_capacity > 1.0:
            us_posts = [post["name"] for agency in world["customs_agencies"]
                        if agency["country"] == "us" for post in agency["posts"]]
            specs.append({"type": "customs_surge", "start": start, "posts": us_posts,
                          "inspections_multiplier": self.us_customs_capacity,
                          "label": f"{self.from_year}: US customs inspections "
                                   f"x{self.us_customs_capacity:g}"})
        if self.guns_stopped > 0.0:
            specs.append({"type": "arms_control", "start": start, "reduction": self.guns_stopped,
                          "label": f"{self.from_year}: US stops {self.guns_stopped:.0%} of guns "
                                   "flowing south"})
        if self.treatment != 1.0 or self.naloxone > 0.0:
            specs.append({"type": "demand_reduction", "start": start, "prevention": 0.0,
                          "treatment_capacity_multiplier": self.treatment,
                          "treatment_entry_multiplier": self.treatment,
                          "naloxone_coverage": self.naloxone,
                          "label": f"{self.from_year}: US treatment x{self.treatment:g}, "
                                   f"naloxone at {self.naloxone:.0%} of overdoses"})
        return specs

    def apply(self, scenario: Scenario) -> Scenario:
        """`scenario` with these levers' policies added (validated like a scenario file's)."""
        specs = self.policy_specs(scenario.world)
        added = [build_policy(spec, CLASSROOM_SOURCE, ("levers", i), scenario.start,
                              scenario.world) for i, spec in enumerate(specs)]
        resolved = thaw(scenario.resolved)
        resolved["policies"] = resolved.get("policies", []) + specs
        return replace(scenario, policies=scenario.policies + tuple(added),
                       resolved=freeze(resolved))
