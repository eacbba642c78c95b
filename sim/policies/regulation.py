"""Scheduling: a regulator controls chemicals or whole analog classes."""

from __future__ import annotations

from dataclasses import dataclass

from sim.chemicals import load_chemicals
from sim.countries import COUNTRIES
from sim.events import BY_POLICY
from sim.policies.base import Policy, register, spec

_CHEMICALS = load_chemicals()
CLASS_NAMES = sorted({c for classes in _CHEMICALS.classes for c in classes})


@register("class_scheduling")
@dataclass
class ClassScheduling(Policy):
    """A regulator controls chemicals (or whole analog classes) from `start` (until `end`).

    Changes rules, not outputs: makers of a chemical controlled where they operate face refusal
    pressure and raids and switch to an uncontrolled analog or quit; customs posts of that
    country can seize it. A UN control starts the national regulators' adoption clocks
    (China's lag shortens with cooperation).
    """

    story = ("makers there must stop selling these chemicals or switch to one that is not "
             "controlled yet")

    regulator: str = spec("china", choices=COUNTRIES, doc="who controls: china, india, mexico, "
                          "us or un")
    chemicals: list[str] = spec([], choices=_CHEMICALS.names, doc="chemical names")
    classes: list[str] = spec([], choices=CLASS_NAMES, doc="analog classes, e.g. "
                              "fentanyl_related, piperidine_precursors")

    def validate(self, world):
        if not self.chemicals and not self.classes:
            return "chemicals", "give at least one chemical or class to control"
        return None

    def product_ids(self) -> list[int]:
        return _CHEMICALS.ids(self.chemicals, self.classes)

    def on_start(self, model) -> None:
        model.controls.set(COUNTRIES.index(self.regulator), self.product_ids(), True, model.week,
                           BY_POLICY)

    def on_end(self, model) -> None:
        model.controls.set(COUNTRIES.index(self.regulator), self.product_ids(), False, model.week,
                           BY_POLICY)
