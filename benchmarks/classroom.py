"""The classroom dashboard's pace: one Step including the page's redraw on the server (Solara's
render API: the model's week, the network and chart specs, monitors and events), the weeks
a second that Play reaches in a real browser (`run.py demo` in headless Chromium), and in teams
mode the seconds from the teacher's "Play" to every one of 30 browser contexts showing the new
year (`run.py classroom --teams`)."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def step_ms(steps: int = 30, warmup: int = 5) -> float:
    """Median wall time of one Step click, page redraw included (ms), at classroom size."""
    import ipyvuetify as v
    import solara

    from sim.classroom.app import Page
    from sim.classroom.model import DEFAULT_SCENARIO, REFERENCES, SCENARIO_DIR

    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    button = rc.find(v.Btn, children=["Step"]).widget
    # steady state: the page's reference run (computed once, in the background) is done
    REFERENCES.compute((str(SCENARIO_DIR), DEFAULT_SCENARIO, 42, True))
    for _ in range(warmup):
        button.click()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        button.click()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def serving(args: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    """`python run.py ARGS --port PORT`, once it answers (its output in a pipe)."""
    server = subprocess.Popen([sys.executable, "run.py", *args, "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    return server


def stopped(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:   # not to lose the figures to a stuck server
        server.kill()
        server.wait()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def play_weeks_per_s(seconds: float = 10.0, port: int = 8791) -> float:
    """Weeks a second while playing, read off the page's step counter in Chromium. Raises
    Playwright's Error when the page does not answer in time."""
    from playwright.sync_api import sync_playwright

    server = serving(["demo"], port)
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Step: 0").wait_for(timeout=120_000)
            page.get_by_role("button", name="▶").click()
            started = time.perf_counter()
            page.wait_for_timeout(seconds * 1000)
            # pause before reading: a page busy redrawing can miss a read's deadline
            page.get_by_role("button", name="❚❚").click(timeout=120_000)
            played_s = time.perf_counter() - started
            text = page.get_by_text("Step:").inner_text(timeout=120_000)
            browser.close()
        return int(re.search(r"Step: (\d+)", text).group(1)) / played_s
    finally:
        stopped(server)


def teams_advance_s(contexts: int = 30, port: int = 8792) -> float:
    """Teams mode: seconds from the teacher's "Play" to all `contexts` browser contexts (the
    teacher's and students' of the three teams, each in its own context) showing the new
    year."""
    from playwright.sync_api import expect, sync_playwright

    code = "B3NC"
    server = serving(["classroom", "--teams"], port, {"CLASSROOM_JOIN_CODE": code})
    try:
        teacher_url = re.search(r"Teacher \(projector\): (\S+)", server.stdout.readline()).group(1)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            pages = [browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
                     for _ in range(contexts)]
            teacher, students = pages[0], pages[1:]
            teacher.goto(teacher_url)
            for i, page in enumerate(students):
                page.goto(f"http://127.0.0.1:{port}/")
                page.get_by_label("Join code").fill(code)
                page.get_by_role("button", name="Join").click()
                team = ("United States", "China", "Mexico")[i % 3]
                page.get_by_role("button", name=f"Play {team}").click()
                page.get_by_text("Your levers for").wait_for(timeout=120_000)
            started = time.perf_counter()
            teacher.get_by_role("button", name="Play 2025").click()
            for page in pages:
                expect(page.locator(".year")).to_contain_text("Year 2026", timeout=120_000)
            elapsed = time.perf_counter() - started
            browser.close()
        return elapsed
    finally:
        stopped(server)


def browser_figure(out: dict, key: str, error_key: str, measure) -> dict:
    """`out` with `key` measured in Chromium: None without Chromium, or when the page did not
    answer, with the reason in `error_key`, so that one browser failure does not lose the run's
    other figures."""
    out[key] = None
    if not Path(CHROMIUM).exists():
        return out
    from playwright.sync_api import Error as PlaywrightError

    try:
        out[key] = measure()
    except PlaywrightError as error:
        out[error_key] = (str(error).splitlines() or [type(error).__name__])[0]
    return out


def figures() -> dict:
    """`classroom_step_ms`: median Step with redraw (target <= 200); `classroom_play_weeks_per_s`:
    weeks a second while playing in the browser (target >= 5; see `browser_figure`)."""
    return browser_figure({"classroom_step_ms": step_ms()}, "classroom_play_weeks_per_s",
                          "classroom_play_error", play_weeks_per_s)


def teams_figures() -> dict:
    """`classroom_teams_advance_s`: teams mode, seconds from the teacher's "Play" to 30
    contexts showing the new year (see `browser_figure`)."""
    return browser_figure({}, "classroom_teams_advance_s", "classroom_teams_error",
                          teams_advance_s)


if __name__ == "__main__":
    print(figures(), teams_figures())
