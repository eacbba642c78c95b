"""What just happened, in plain words: the model's dated events (policies starting and ending,
chemicals controlled, each with the rule that caused it) explained, and the shifts read off the
recorded series (makers switching chemical, traffickers switching route, customs moving
inspections, China's cooperation crossing one half)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from sim.actors.customs import agencies
from sim.classroom.charts import smooth
from sim.events import (
    ADOPTED_UN_CONTROL,
    BY_POLICY,
    CONTROL,
    DECONTROL,
    POLICY_END,
    UN_DETECTION,
    Event,
)
from sim.policies import POLICY_TYPES

CAUSES = {BY_POLICY: "by decision",
          ADOPTED_UN_CONTROL: "following the UN, once its adoption delay has passed",
          UN_DETECTION: "by the UN's rule: it has been a large share of the precursors shipped "
                        "for long enough, sooner the more of it is seized"}
DATED = re.compile(r"^([A-Z][a-z]{2} )?\d{4}: ")   # a label's own date, e.g. "May 2019: "
# A shift is news only when it is a real change, not a one-point flip of two close series: the
# new leader's 13-week mean share must beat the last announced leader's by SHIFT_MARGIN in each
# of SHIFT_HOLD_WEEKS weeks in a row; it is announced in the week that completes the hold.
SHIFT_MARGIN = 0.05       # 5 percentage points
SHIFT_HOLD_WEEKS = 8      # two months
ACRONYMS = {"un", "us", "cbp", "dea", "cnd", "mx", "cn", "npp", "anpp", "ap", "nncc", "ncb",
            "cofepris", "ofac", "cjng"}
SMALL_WORDS = {"of", "and", "the"}


def date_of(model, week: int) -> dt.date:
    return model.scenario.start + dt.timedelta(weeks=week)


def display_name(name: str, chemical: bool = False) -> str:
    """A name for people: 'us_cbp_ports_of_entry' -> 'US CBP Ports of Entry', 'san_diego' ->
    'San Diego'; chemicals keep their case but for acronyms: '1-boc-4-ap' -> '1-boc-4-AP'."""
    if name == "fentanyl_analogs":
        return "fentanyl-related substances"
    if chemical:
        return "".join(w.upper() if w in ACRONYMS else w for w in re.split(r"(-)", name))
    return " ".join(w.upper() if w in ACRONYMS else w if w in SMALL_WORDS else w.capitalize()
                    for w in name.split("_"))


def explain(event: Event) -> str:
    """One of `model.events` in plain words, from its fields (a policy's story is its class's
    `story`)."""
    if event.kind in (CONTROL, DECONTROL):
        who = display_name(event.actors[0])
        chemicals = ", ".join(display_name(n, chemical=True) for n in event.chemicals)
        if event.kind == CONTROL:
            return (f"{who} controls {chemicals} ({CAUSES.get(event.cause, event.cause)}): makers "
                    "there must stop or switch to an analog that is not controlled yet.")
        return f"{who} lifts its control of {chemicals}."
    label = DATED.sub("", event.cause)   # the feed gives the date
    if event.kind == POLICY_END:
        return f"Ends: {label}."
    story = POLICY_TYPES[event.actors[0]].story
    return f"{label}: {story}." if story else f"{label}."


def _leader_changes(names: list[str], series: list[np.ndarray]) -> list[tuple[int, str, float]]:
    """(week, name, share) each time another name takes the lead of the smoothed series and
    holds it by at least `SHIFT_MARGIN` for `SHIFT_HOLD_WEEKS` weeks in a row."""
    if not series or not series[0].size:
        return []
    shares = np.vstack([smooth(s) for s in series])
    leader = shares.argmax(axis=0)
    changes, current, held = [], leader[0], 0
    for week in range(1, shares.shape[1]):
        ahead = (leader[week] != current
                 and shares[leader[week], week] - shares[current, week] >= SHIFT_MARGIN)
        held = held + 1 if ahead and leader[week] == leader[week - 1] else int(ahead)
        if held >= SHIFT_HOLD_WEEKS:
            current, held = leader[week], 0
            changes.append((week, names[current], float(shares[current, week])))
    return changes


def emergent_events(model) -> list[tuple[int, str]]:
    """Shifts read off the series. Their causes are rules and data: makers switch to the first
    chemical in the chemicals table's substitution order that is available and not controlled;
    routes and inspections follow losses and seizures."""
    rec, out = model.recorder, []
    chemicals = list(model.chemicals.names)
    for week, name, share in _leader_changes(
            chemicals, [rec.series(f"precursor_share_{c}") for c in chemicals]):
        out.append((week, f"Makers switch: {display_name(name, chemical=True)} is now the chemical "
                          "most shipped "
                          f"({share:.0%} of kg)."))
    entries = model.network.entry_names
    for week, name, share in _leader_changes(
            entries, [rec.series(f"route_share_{e}") for e in entries]):
        out.append((week, f"Traffickers shift: most fentanyl now crosses at {display_name(name)} "
                          f"({share:.0%})."))
    for agency in agencies(model):
        posts = [model.posts.names[p] for p in agency.posts]
        if len(posts) < 2:
            continue
        for week, name, share in _leader_changes(
                posts, [rec.series(f"inspection_share_{p}") for p in posts]):
            out.append((week, f"{display_name(agency.name)} follows: {display_name(name)} now gets most of "
                              f"its inspections ({share:.0%})."))
    cooperation = smooth(rec.series("china_cooperation"), 4)
    above = cooperation >= 0.5
    for week in np.flatnonzero(above[1:] != above[:-1]) + 1:
        out.append((int(week), "China's cooperation rises above one half: it enforces more "
                    "against makers." if above[week] else "China's cooperation falls below one "
                    "half: it enforces less against makers."))
    return out


def event_feed(model) -> list[tuple[dt.date, str]]:
    """Every event so far, newest first, as (date, plain text)."""
    # a chemical controlled by a policy is told by the policy's own event
    events = [(e.week, explain(e)) for e in model.events
              if not (e.kind in (CONTROL, DECONTROL) and e.cause == BY_POLICY)]
    events += emergent_events(model)
    events.sort(key=lambda e: e[0], reverse=True)
    return [(date_of(model, w), text) for w, text in events]
