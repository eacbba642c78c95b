"""Scheduling: a regulator controls chemicals or whole analog classes; a recorded history
replaces regulators' own scheduling rules until it ends."""

from __future__ import annotations

from dataclasses import dataclass

from sim.actors.regulators import regulators
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
                           BY_POLICY, self.describe())

    def on_end(self, model) -> None:
        model.controls.set(COUNTRIES.index(self.regulator), self.product_ids(), False, model.week,
                           BY_POLICY, self.describe())


@register("recorded_history")
@dataclass
class RecordedHistory(Policy):
    """The record of dated controls replaces the listed regulators' own scheduling rules from
    `start` until `end` (the end of the recorded history).

    Changes rules: while active, the UN commission's detection rule does not list and the listed
    national regulators do not adopt UN controls by their lag; their evidence and adoption clocks
    keep running, so from `end` the rules act on what they have seen (a control overdue by then
    comes in the first week). The dated `class_scheduling` entries control chemicals at their real
    dates meanwhile. Regulators not listed keep their rules throughout.
    """

    story = ("regulators schedule chemicals at the dates history records; their own rules "
             "take over when the record ends")

    regulators: list[str] = spec(["un", "china", "us"], choices=COUNTRIES,
                                 doc="regulators whose scheduling the record gives: china, "
                                 "india, mexico, us or un")

    def _set_rules(self, model, act: bool) -> None:
        for regulator in regulators(model):
            if COUNTRIES[regulator.country] in self.regulators:
                regulator.rules_act = act

    def on_start(self, model) -> None:
        self._set_rules(model, False)

    def on_end(self, model) -> None:
        self._set_rules(model, True)
