"""`ClassroomModel`: the full model, built from a scenario file name, a seed and the dashboard's
levers as keyword arguments (what Mesa's SolaraViz passes on Reset), plus the scenario's own
run without the levers as a reference line."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from sim.classroom.levers import ClassroomLevers, lever_policy
from sim.config import Scenario, load_scenario
from sim.model import FentanylModel

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT_SCENARIO = "classroom_small.yaml"
# classroom size: steps in a few milliseconds, so redrawing sets the pace
CLASSROOM_SIZE = {"users.agents": 20_000, "makers.firms": 500}
# One model week at a time in this process: every browser tab steps its model in its own
# thread, and numba's fallback threading layer (workqueue) aborts on concurrent parallel kernels.
STEP_LOCK = threading.Lock()
YIELD_S = 0.002   # pause between a reference run's weeks (s)
# pause before the first week a new thread steps (s): Play steps in a thread of its own, and the
# page's redraw after the ▶ click (70-85 ms) must end before the first week's, or Solara stops
# with "Too many renders triggered" (docs/classroom.md)
FIRST_WEEK_PAUSE_S = 0.25
TAB_POLL_S = 0.5  # how often a model whose tab is disconnected looks for it again (s)


def scenario_files(folder: Path = SCENARIO_DIR) -> list[str]:
    """Every scenario file the picker offers."""
    return sorted(p.name for p in folder.glob("*.yaml"))


def classroom_scenario(scenario: str, seed: int, classroom_size: bool,
                       folder: Path = SCENARIO_DIR) -> Scenario:
    """The picked scenario file with the seed and, if asked, the classroom population."""
    return load_scenario(folder / scenario).with_overrides(
        CLASSROOM_SIZE if classroom_size else {}, seed=seed)


def current_session():
    """The Solara session (browser tab) this thread serves, or None outside a Solara server.
    Solara is looked up, not imported: `run.py lesson` uses this module without the
    `classroom` extra installed."""
    kernel_context = sys.modules.get("solara.server.kernel_context")
    if kernel_context is None or not kernel_context.has_current_context():
        return None
    return kernel_context.get_current_context()


class ClassroomModel(FentanylModel):
    """The model as the dashboard builds it: a scenario file, seed and lever settings."""

    def __init__(self, scenario: str = DEFAULT_SCENARIO, seed: int = 42,
                 classroom_size: bool = True, scenario_folder: Path = SCENARIO_DIR,
                 **kwargs):
        """`kwargs`: lever settings, the fields of `ClassroomLevers` (Mesa's SolaraViz expects
        this name for extra keyword arguments)."""
        self.lever_settings = ClassroomLevers(**kwargs)
        self.session = current_session()   # the browser tab that built this model
        self.stepping_thread: int | None = None   # the thread that stepped the last week
        self.reference_key = (str(scenario_folder), scenario, int(seed), bool(classroom_size))
        base = classroom_scenario(scenario, int(seed), classroom_size, scenario_folder)
        super().__init__(self.lever_settings.apply(base))

    def step(self) -> None:
        if not self.wait_for_tab():
            self.running = False   # ends Mesa's Play loop for a tab that is gone
            return
        if threading.get_ident() != self.stepping_thread:   # a new Play (or the first Step)
            self.stepping_thread = threading.get_ident()
            time.sleep(FIRST_WEEK_PAUSE_S)
        with STEP_LOCK:
            super().step()

    def wait_for_tab(self) -> bool:
        """Whether the browser tab that owns this model is still there. While it is
        disconnected (closed, or its connection lost), wait here, so Play does not keep a core
        busy for a page nobody sees; a reconnected tab plays on. False once Solara has closed
        the tab's session (at once for a closed tab, `server.DISCONNECTED_TAB_KEPT` after a
        lost connection)."""
        session = self.session
        if session is None:
            return True
        connected = sys.modules["solara.server.kernel_context"].PageStatus.CONNECTED
        while session.page_status and connected not in session.page_status.values():
            if session.closed_event.wait(TAB_POLL_S):
                return False
        return not session.closed_event.is_set()

    def adopt(self, spec: dict):
        """Add a lever's policy (a `ClassroomLevers.policy_specs` entry) to the running model,
        as if the scenario had it (teams mode); it must not start in the past."""
        policy = lever_policy(spec, self.scenario, len(self.policies))
        if policy.start_week < self.week:
            raise ValueError(f"{policy.describe()}: starts before week {self.week}")
        policy.setup(self)
        self.policies.append(policy)
        self.policies.sort(key=lambda p: (p.order, p.start_week))   # FentanylModel's order
        return policy

    def end_policy(self, policy, day: dt.date) -> None:
        """End `policy` on `day` (not in the past): it stops acting from that week."""
        policy.end, policy.end_week = day, max(0, (day - self.scenario.start).days // 7)

    def reference(self) -> pd.DataFrame | None:
        """The scenario's weekly series without the levers, or None while it is computed."""
        return REFERENCES.get(self.reference_key)


class ReferenceRuns:
    """Whole runs of scenarios without levers, computed once per (folder, file, seed, size)
    in a background thread so the page never waits for them."""

    def __init__(self):
        self._done: dict[tuple, pd.DataFrame] = {}
        self._ready: dict[tuple, threading.Event] = {}   # set once a key's run is done
        self._lock = threading.Lock()

    def get(self, key: tuple) -> pd.DataFrame | None:
        """The reference for `key`, or None while it is computed (started now if need be)."""
        with self._lock:
            if key in self._done:
                return self._done[key]
            if key not in self._ready:
                self._ready[key] = threading.Event()
                # not a daemon: exiting mid-kernel would abort the process
                threading.Thread(target=self.compute, args=(key,)).start()
        return None

    def wait(self, key: tuple) -> pd.DataFrame:
        """The reference for `key`, once its background run is done."""
        if self.get(key) is None:
            self._ready[key].wait()
        return self._done[key]

    def compute(self, key: tuple) -> pd.DataFrame:
        """The reference for `key`, computed now unless already done."""
        with self._lock:
            if key in self._done:
                return self._done[key]
        folder, scenario, seed, classroom_size = key
        model = FentanylModel(classroom_scenario(scenario, seed, classroom_size, Path(folder)))
        for _ in range(model.scenario.weeks):
            with STEP_LOCK:
                model.step()
            time.sleep(YIELD_S)   # let a tab's Step take the lock between reference weeks
        series = model.recorder.get_model_vars_dataframe()
        with self._lock:
            self._done[key] = series
            self._ready.setdefault(key, threading.Event()).set()
        return series


REFERENCES = ReferenceRuns()
