"""Teams mode (a participatory simulation, as NetLogo's HubNet does): one shared model, a year a
round. Students join with a short code and play the United States, China or Mexico; each team
sets its own levers, the teacher advances a year, and everyone sees what follows.

`Game` holds the rules and knows nothing of web pages (`sim.classroom.teams_app` draws them):
who may join, which levers a team may move (checked here, on the server), and how a year's
settings become the project's ordinary policies (`ClassroomLevers.policy_specs`, built with
`build_policy`), so levers change agents' rules, never outputs. A lever group's policy runs
until the team changes it: then it ends on 1 January and the new one starts the same day.

This module and `sim.classroom.network_view` are the only places the classroom reads the
model's state (here: the recorder's series).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.classroom.levers import (
    CHINA_CLASS,
    CHINA_ENFORCEMENT,
    CHINA_STANCE,
    CUSTOMS,
    GUNS,
    INSTITUTE,
    MEXICO_LABS,
    MEXICO_PORTS,
    NALOXONE,
    SANCTIONS,
    TASKFORCE_CHINA,
    TASKFORCE_MEXICO,
    TREATMENT,
    ClassroomLevers,
    LeverInput,
)
from sim.classroom.model import REFERENCES, ClassroomModel
from sim.classroom.server import new_code

FIRST_YEAR = 2025   # the first round: the years before replay the history


class Refused(Exception):
    """A request the game does not allow (a wrong code, another team's lever, ...)."""


@dataclass(frozen=True)
class Score:
    """One line of a team's scorecard: a recorded series over a year."""

    column: str
    label: str
    how: str = "sum"        # "sum" (flows) or "mean" (levels)
    better: str = "lower"   # which way is good for the team


@dataclass(frozen=True)
class Team:
    key: str
    name: str
    levers: tuple[LeverInput, ...]
    scores: tuple[Score, ...]


TEAMS = {team.key: team for team in (
    Team("us", "United States", (SANCTIONS, INSTITUTE, CUSTOMS, GUNS, TREATMENT, NALOXONE),
         (Score("overdose_deaths", "Overdose deaths"),
          Score("synthetic_opioid_deaths", "of which fentanyl and analogs"),
          Score("fentanyl_to_us_kg", "Fentanyl reaching US retail (kg)"),
          Score("fentanyl_seized_kg", "Fentanyl seized by the US (kg)", better="higher"),
          Score("china_cooperation", "China's cooperation (0-1)", "mean", "higher"))),
    Team("china", "China", (CHINA_ENFORCEMENT, CHINA_CLASS, CHINA_STANCE, TASKFORCE_CHINA),
         (Score("china_cooperation", "Relations: cooperation with the US (0-1)", "mean",
                "higher"),
          Score("precursor_shipped_kg", "Chemical exports to cartels (kg)"),
          Score("active_precursor_makers", "Chemical firms in business", "mean", "higher"),
          Score("sanctioned_makers", "Chinese firms under US sanctions", "mean"))),
    Team("mexico", "Mexico", (MEXICO_PORTS, MEXICO_LABS, TASKFORCE_MEXICO),
         (Score("fentanyl_seized_mx_kg", "Fentanyl seized in Mexico (kg)", better="higher"),
          Score("mexico_labs_dismantled", "Labs dismantled", better="higher"),
          Score("cartel_revenue_usd", "Cartels' revenue (US$)"),
          Score("cartel_armed_strength", "Cartels' armed strength", "mean"))),
)}
TEAM_OF_LEVER = {lever.name: team.key for team in TEAMS.values() for lever in team.levers}
LEVERS = {lever.name: lever for team in TEAMS.values() for lever in team.levers}
OUTCOMES = (Score("overdose_deaths", "Deaths"), Score("fentanyl_to_us_kg", "Fentanyl to US (kg)"),
            Score("china_cooperation", "China's cooperation", "mean", "higher"))


def first_week_of(model, year: int) -> int:
    """The week that contains 1 January of `year` (where a policy dated that day starts)."""
    return max(0, (dt.date(year, 1, 1) - model.scenario.start).days // 7)


def same_policy(a: dict, b: dict) -> bool:
    """Whether two lever specs stand for the same policy (whatever their start and label)."""
    drop = ("start", "label")
    return {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items()
                                                             if k not in drop}


def in_year(model, frame: pd.DataFrame, score: Score, year: int) -> float:
    """A score over the weeks of the round that played `year` (sum of flows, mean of
    levels)."""
    weeks = frame[score.column].iloc[first_week_of(model, year):first_week_of(model, year + 1)]
    return float(weeks.sum() if score.how == "sum" else weeks.mean())


class Game:
    """The shared model and the teams' settings, seats and history. Every method may be called
    from any browser session's thread: one lock keeps the game consistent."""

    def __init__(self, scenario: Path, seed: int = 42, code: str | None = None,
                 teacher_key: str | None = None, first_year: int = FIRST_YEAR):
        self.code = (code or new_code()).upper()
        self.teacher_key = teacher_key or secrets.token_urlsafe(12)
        self.model = ClassroomModel(scenario=scenario.name, seed=seed,
                                    scenario_folder=scenario.parent)
        self.model.session = None   # every tab's: it never waits for one tab to come back
        REFERENCES.get(self.model.reference_key)   # the no-choices run, in the background
        self.last_year = (self.model.scenario.start
                          + dt.timedelta(weeks=self.model.scenario.weeks - 1)).year
        if not self.model.scenario.start.year < first_year <= self.last_year:
            raise ValueError(f"the first round ({first_year}) must fall after the scenario's "
                             f"start and by {self.last_year}")
        self.model.run(first_week_of(self.model, first_year))   # history up to round one
        self.year = first_year          # the year the next round plays
        defaults = ClassroomLevers()
        self.settings = {key: {lever.name: getattr(defaults, lever.name) for lever in team.levers}
                         for key, team in TEAMS.items()}
        self.history: list[dict] = []   # per year played: {"year", "settings"}
        self.seats: dict[str, str] = {}   # a browser session -> its team
        self.running: dict[str, tuple[dict, object]] = {}   # lever group -> (spec, policy)
        self.version = 0                # counts changes; pages redraw when it moves
        self.lock = threading.RLock()

    # --- who may do what ---------------------------------------------------------------------
    def check_code(self, code: str) -> None:
        if not secrets.compare_digest(code.strip().upper().encode(), self.code.encode()):
            raise Refused("That is not this class's code: ask your teacher for it.")

    def is_teacher(self, key: str | None) -> bool:
        return key is not None and secrets.compare_digest(key.encode(), self.teacher_key.encode())

    def join(self, player: str, code: str, team: str) -> str:
        """Seat `player` (a browser session) in `team`; a player keeps the team it took."""
        self.check_code(code)
        if team not in TEAMS:
            raise Refused(f"No team '{team}': choose {', '.join(TEAMS)}.")
        with self.lock:
            seated = self.seats.setdefault(player, team)
            if seated != team:
                raise Refused(f"You play {TEAMS[seated].name}: you cannot join "
                              f"{TEAMS[team].name} as well.")
            self.version += 1
        return seated

    def move(self, player: str, lever: str, value) -> None:
        """Set one of the player's team's levers for the coming year, if the rules allow it."""
        with self.lock:
            team = self.seats.get(player)
            if team is None:
                raise Refused("Join a team first.")
            owner = TEAM_OF_LEVER.get(lever)
            if owner != team:
                whose = TEAMS[owner].name if owner else "no team"
                raise Refused(f"{TEAMS[team].name} cannot move that lever: it belongs to "
                              f"{whose}.")
            if not LEVERS[lever].accepts(value):
                raise Refused(f"{LEVERS[lever].label}: {value!r} is not a possible setting.")
            if self.finished:
                raise Refused("The game is over: see the debrief.")
            self.settings[team][lever] = value
            self.version += 1

    # --- rounds ------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.year > self.last_year

    def levers(self) -> ClassroomLevers:
        """Every team's settings as one set of levers acting from this round's year."""
        merged = {name: value for team in self.settings.values() for name, value in team.items()}
        return ClassroomLevers(from_year=self.year, **merged)

    def advance(self) -> int:
        """Play the coming year with the teams' settings (the teacher's button); returns the
        year played."""
        with self.lock:
            if self.finished:
                raise Refused("The game is over: see the debrief.")
            model, year = self.model, self.year
            specs = {spec["id"]: spec for spec in self.levers().policy_specs(model.scenario.world)}
            for group, (spec, policy) in list(self.running.items()):
                if group not in specs or not same_policy(spec, specs[group]):
                    model.end_policy(policy, dt.date(year, 1, 1))
                    del self.running[group]
            for group, spec in specs.items():
                if group not in self.running:
                    self.running[group] = (spec, model.adopt(spec))
            end = (model.scenario.weeks if year == self.last_year
                   else first_week_of(model, year + 1))
            model.run(end - model.week)
            self.history.append({"year": year, "settings": {team: dict(values) for team, values
                                                            in self.settings.items()}})
            self.year += 1
            self.version += 1
            return year

    # --- what the pages show -----------------------------------------------------------------
    def moves(self, team: str) -> list[tuple[str, str]]:
        """A team's levers now, in words: (label, value)."""
        return [(lever.label, lever.shows(self.settings[team][lever.name]))
                for lever in TEAMS[team].levers]

    def scorecard(self, team: str) -> list[dict]:
        """The team's goals over the last year played, against the same year without anyone's
        choices (None before the first round or while the reference is computed)."""
        if not self.history:
            return []
        year = self.history[-1]["year"]
        frame = self.model.recorder.get_model_vars_dataframe()
        reference = self.model.reference()
        rows = []
        for score in TEAMS[team].scores:
            rows.append({"goal": score.label, "better": score.better,
                         "this year": in_year(self.model, frame, score, year),
                         "without choices": None if reference is None
                         else in_year(self.model, reference, score, year)})
        return rows

    def debrief(self) -> list[dict]:
        """Per year played: each team's settings in words beside the outcome and the
        no-choices reference."""
        frame = self.model.recorder.get_model_vars_dataframe()
        reference = REFERENCES.wait(self.model.reference_key)
        rows = []
        for played in self.history:
            year = played["year"]
            row = {"year": year}
            for key, team in TEAMS.items():
                row[team.name] = "; ".join(
                    f"{lever.label}: {lever.shows(played['settings'][key][lever.name])}"
                    for lever in team.levers if played["settings"][key][lever.name]
                    != getattr(ClassroomLevers(), lever.name)) or "no change"
            for score in OUTCOMES:
                row[score.label] = in_year(self.model, frame, score, year)
                row[f"{score.label} without choices"] = in_year(self.model, reference, score, year)
            rows.append(row)
        return rows
