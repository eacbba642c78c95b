"""Dated events the model computes: policies starting and ending, chemicals controlled or
decontrolled. Data, not text: views (the classroom feed, summary.json) read the fields; `str()`
gives the one-line text `summary.json` records, and `reason()` says what caused the event from
the rule and the numbers the model computed, nothing more."""

from __future__ import annotations

from dataclasses import dataclass

POLICY_START, POLICY_END = "policy_start", "policy_end"
CONTROL, DECONTROL = "control", "decontrol"
KINDS = (POLICY_START, POLICY_END, CONTROL, DECONTROL)
# causes of a control (sim.actors.regulators):
# - BY_POLICY: a dated policy decided it (`policy` holds its label);
# - ADOPTED_UN_CONTROL: a national regulator's adoption rule, once the chemical had been
#   UN-controlled for its adoption lag (data: weeks_pending, lag_weeks);
# - UN_DETECTION: the UN commission's trade-prominence rule, once the chemical's smoothed share of
#   precursor kg shipped had stayed above the threshold for the detection lag, counting seizures
#   as extra weeks (data: share, threshold, prominent_weeks, seizure_weeks, lag_weeks).
BY_POLICY, ADOPTED_UN_CONTROL, UN_DETECTION = "policy", "adopted UN control", "detected"
CAUSES = (BY_POLICY, ADOPTED_UN_CONTROL, UN_DETECTION)


@dataclass(frozen=True)
class Event:
    """One event of week `week`.

    kind: one of `KINDS`; actors: who acts (a country for controls, the policy's type for policy
    events); chemicals: the chemicals controlled or decontrolled; cause: what made it happen (one
    of `CAUSES` for controls, the policy's label for policy events); policy: the label of the
    policy that decided a control; data: the numbers the deciding rule computed, as (name, value)
    pairs (names per cause above)."""

    week: int
    kind: str
    actors: tuple[str, ...] = ()
    chemicals: tuple[str, ...] = ()
    cause: str = ""
    policy: str = ""
    data: tuple[tuple[str, float], ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.kind in (CONTROL, DECONTROL) and self.cause not in CAUSES:
            raise ValueError(f"unknown cause of a control {self.cause!r}")

    def value(self, name: str) -> float:
        """One number of `data`."""
        return dict(self.data)[name]

    def reason(self) -> str:
        """The cause in words, from the rule and its numbers only."""
        if self.kind in (POLICY_START, POLICY_END) or self.cause == BY_POLICY:
            return f"policy: {self.policy or self.cause}"
        v = self.value
        if self.cause == ADOPTED_UN_CONTROL:
            return (f"adopted UN control: pending {v('weeks_pending'):.0f} weeks, adoption lag "
                    f"{v('lag_weeks'):.0f} weeks")
        return (f"detected by trade prominence: smoothed share {v('share'):.0%} of precursor kg "
                f"shipped, above {v('threshold'):.0%} for {v('prominent_weeks'):.0f} weeks, plus "
                f"{v('seizure_weeks'):.0f} weeks for kg seized; detection lag "
                f"{v('lag_weeks'):.0f} weeks")

    def __str__(self) -> str:
        if self.kind == POLICY_START:
            return f"starts: {self.cause}"
        if self.kind == POLICY_END:
            return f"ends: {self.cause}"
        verb = "controls" if self.kind == CONTROL else "lifts control of"
        return f"{self.actors[0]} {verb} {', '.join(self.chemicals)} ({self.reason()})"
