"""Dated events the model computes: policies starting and ending, chemicals controlled or
decontrolled. Data, not text: views (the classroom feed, summary.json) read the fields; `str()`
gives the one-line text `summary.json` records."""

from __future__ import annotations

from dataclasses import dataclass

POLICY_START, POLICY_END = "policy_start", "policy_end"
CONTROL, DECONTROL = "control", "decontrol"
KINDS = (POLICY_START, POLICY_END, CONTROL, DECONTROL)
# causes of a control: a policy decided it, a national regulator adopted a UN control, or the UN
# commission's detection rule listed it (sim.actors.regulators)
BY_POLICY, ADOPTED_UN_CONTROL, UN_DETECTION = "policy", "adopted UN control", "detected"


@dataclass(frozen=True)
class Event:
    """One event of week `week`.

    kind: one of `KINDS`; actors: who acts (a country for controls, the policy's type for policy
    events); chemicals: the chemicals controlled or decontrolled; cause: what made it happen (a
    cause constant above for controls, the policy's label for policy events)."""

    week: int
    kind: str
    actors: tuple[str, ...] = ()
    chemicals: tuple[str, ...] = ()
    cause: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")

    def __str__(self) -> str:
        if self.kind == POLICY_START:
            return f"starts: {self.cause}"
        if self.kind == POLICY_END:
            return f"ends: {self.cause}"
        verb = "controls" if self.kind == CONTROL else "lifts control of"
        return f"{self.actors[0]} {verb} {', '.join(self.chemicals)} ({self.cause})"
