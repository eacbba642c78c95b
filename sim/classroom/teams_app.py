"""Teams mode's pages (`python run.py classroom --teams`, served with `solara run`): one shared
`Game` for the whole server.

- `/?teacher=KEY` (the projector): the world, the year, each team's moves, the button that
  plays the year, and the debrief.
- `/` (students): the join code first, and nothing else without it; then a team; then the
  team's own levers, its scorecard, every team's moves and the charts.

Solara's reactive variables belong to one browser session; `CHANGES` is shared by all of them,
so a move or a new year redraws every page (each component that shows the game reads it).
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from pathlib import Path

import solara
from solara.toestand import ValueBase

from sim.classroom.model import DEFAULT_SCENARIO, SCENARIO_DIR
from sim.classroom.server import CODE_ENV, JOIN_URL_ENV, SCENARIO_ENV, TEACHER_ENV
from sim.classroom.teams import TEAMS, Game, Refused
from sim.classroom.widgets import CSS, ChartsTile, Events, Lever, Monitor, NetworkTile

TEAM_COLORS = {"us": "#1f4e99", "china": "#b22222", "mexico": "#1e7b34"}


class SharedStore(ValueBase):
    """One value for every browser session of this server; setting it redraws, in each
    session, the components that read it (Solara runs each listener in its own session)."""

    def __init__(self, value):
        super().__init__()
        self._value, self._lock = value, threading.RLock()

    @property
    def lock(self):
        return self._lock

    def _get_scope_key(self):
        return "shared"

    def get(self):
        return self._value

    def peek(self):
        return self._value

    def set(self, value):
        with self._lock:
            old, self._value = self._value, value
        if old != value:
            self.fire(value, old)


GAME = Game(Path(os.environ.get(SCENARIO_ENV, SCENARIO_DIR / DEFAULT_SCENARIO)),
            code=os.environ.get(CODE_ENV), teacher_key=os.environ.get(TEACHER_ENV))
CHANGES = solara.Reactive(SharedStore(GAME.version))


def publish() -> None:
    """Tell every page that the game changed."""
    CHANGES.set(GAME.version)


def year_text() -> str:
    if GAME.finished:
        return f"The game is over ({GAME.history[-1]['year']} was the last year)"
    played = f" · {GAME.history[-1]['year']} played" if GAME.history else ""
    return f"Year {GAME.year}{played}"


@solara.component
def Moves(team: str):
    """A team's levers now, in words, and how many students play it."""
    CHANGES.get()
    players = sum(seat == team for seat in GAME.seats.values())
    with solara.Column(gap="0px", classes=["moves", f"moves-{team}"],
                       style={"border-left": f"4px solid {TEAM_COLORS[team]}",
                              "padding-left": "6px"}):
        solara.Text(f"{TEAMS[team].name} ({players} joined)", style={"font-weight": "bold"})
        for label, value in GAME.moves(team):
            solara.Text(f"{label}: {value}", classes=["key"])


@solara.component
def Scorecard(team: str):
    CHANGES.get()
    rows = GAME.scorecard(team)
    if not rows:
        solara.Text("Your scorecard appears after the first year is played.", classes=["key"])
        return
    table = ["| your goal | this year | without anyone's choices | better |", "|---|---|---|---|"]
    for row in rows:
        reference = "..." if row["without choices"] is None else f"{row['without choices']:,.2f}"
        table.append(f"| {row['goal']} | {row['this year']:,.2f} | {reference} | "
                     f"{row['better']} |")
    solara.Markdown(f"**{TEAMS[team].name}'s scorecard, {GAME.history[-1]['year']}**\n\n"
                    + "\n".join(table))


@solara.component
def Debrief():
    """Each year: the teams' choices beside the outcome and the no-choices reference."""
    CHANGES.get()
    rows = GAME.debrief()
    if not rows:
        solara.Text("Nothing played yet.")
        return
    columns = list(rows[0])
    table = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        table.append("| " + " | ".join(f"{v:,.2f}" if isinstance(v, float) else str(v)
                                       for v in row.values()) + " |")
    solara.Markdown("### Debrief: the teams' choices and what followed\n\n" + "\n".join(table)
                    + "\n\nQuestions: which choice moved deaths most, and when? Which team's "
                      "goals conflicted with another's? What would you change?")


@solara.component
def TeacherPage():
    CHANGES.get()
    debrief = solara.use_reactive(False)
    message = solara.use_reactive("")

    def advance():
        try:
            GAME.advance()
            message.set("")
        except Refused as refused:
            message.set(str(refused))
        publish()

    join = os.environ.get(JOIN_URL_ENV, "this page's address without ?teacher=...")
    with solara.Column(gap="4px", classes=["classroom-page"]):
        with solara.Row(gap="12px", style={"align-items": "center", "height": "44px"}):
            solara.Text(year_text(), classes=["year", "monitor-value"])
            solara.Button(f"Play {GAME.year}" if not GAME.finished else "Game over",
                          on_click=advance, color="primary", disabled=GAME.finished)
            solara.Button("World" if debrief.value else "Debrief",
                          on_click=lambda: debrief.set(not debrief.value))
            Monitor("Join", f"{join} · code {GAME.code}")
            if message.value:
                solara.Error(message.value)
        if debrief.value:
            Debrief()
            ChartsTile(GAME.model, GAME.version, GAME.model.reference() is not None)
            return
        with solara.Row(gap="8px", style={"align-items": "flex-start"}):
            with solara.Column(gap="4px", style={"width": "808px"}):
                NetworkTile(GAME.model, GAME.year)
                ChartsTile(GAME.model, GAME.year, GAME.model.reference() is not None)
            with solara.Column(gap="8px", style={"width": "450px"}):
                for team in TEAMS:
                    Moves(team)
                Events(GAME.model, GAME.year, height=300, shown=8)


@solara.component
def StudentPage(code_in_link: str):
    CHANGES.get()
    code = solara.use_reactive(code_in_link)
    admitted = solara.use_reactive(False)
    message = solara.use_reactive("")
    player = solara.get_session_id()

    def attempt(action):
        try:
            action()
            message.set("")
        except Refused as refused:
            message.set(str(refused))
        publish()

    def enter():
        def check():
            GAME.check_code(code.value)
            admitted.set(True)
        attempt(check)

    with solara.Column(gap="8px", style={"max-width": "900px", "margin": "12px auto"}):
        if message.value:
            solara.Error(message.value, classes=["refused"])
        if not admitted.value:
            solara.Markdown("### Join the class\nType the code on the teacher's screen.")
            solara.InputText("Join code", value=code, continuous_update=True)
            solara.Button("Join", on_click=enter, color="primary")
            return
        team = GAME.seats.get(player)
        solara.Text(year_text(), classes=["year", "monitor-value"])
        with solara.Row(gap="8px"):
            for key, each in TEAMS.items():
                solara.Button(f"Play {each.name}", color="primary" if key == team else None,
                              on_click=lambda key=key: attempt(
                                  lambda: GAME.join(player, code.value, key)))
        if team is None:
            solara.Text("Pick your team.")
            return
        solara.Markdown(f"**Your levers for {GAME.year}** ({TEAMS[team].name})")
        with solara.Row(gap="0px", style={"flex-wrap": "wrap"}):
            for lever in TEAMS[team].levers:
                Lever(lever, GAME.settings[team][lever.name],
                      lambda value, name=lever.name: attempt(
                          lambda: GAME.move(player, name, value)))
        Scorecard(team)
        with solara.Row(gap="16px"):
            for key in TEAMS:
                Moves(key)
        ChartsTile(GAME.model, GAME.year, GAME.model.reference() is not None)


@solara.component
def Page():
    solara.Style(CSS)
    solara.Title("Fentanyl supply chain · teams")
    query = urllib.parse.parse_qs(solara.use_router().search or "")
    if GAME.is_teacher(query.get("teacher", [None])[0]):
        TeacherPage()
    else:
        StudentPage(query.get("code", [""])[0])
