"""The classroom dashboard's pace: one Step including the page's redraw on the server (Solara's
render API: the model's week, the network and chart specs, monitors and events), and the weeks
a second that Play reaches in a real browser (`run.py demo` in headless Chromium)."""

from __future__ import annotations

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


def play_weeks_per_s(seconds: float = 10.0, port: int = 8791) -> float:
    """Weeks a second while playing, read off the page's step counter in Chromium. Raises
    Playwright's Error when the page does not answer in time."""
    from playwright.sync_api import sync_playwright

    server = subprocess.Popen([sys.executable, "run.py", "demo", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(240):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(url)
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
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:   # not to lose the figures to a stuck server
            server.kill()
            server.wait()


def figures() -> dict:
    """`classroom_step_ms`: median Step with redraw (target <= 200); `classroom_play_weeks_per_s`:
    weeks a second while playing in the browser (target >= 5; None without Chromium, or when
    the page did not answer, with the reason in `classroom_play_error`, so that one browser
    failure does not lose the run's other figures)."""
    out = {"classroom_step_ms": step_ms(), "classroom_play_weeks_per_s": None}
    if not Path(CHROMIUM).exists():
        return out
    from playwright.sync_api import Error as PlaywrightError

    try:
        out["classroom_play_weeks_per_s"] = play_weeks_per_s()
    except PlaywrightError as error:
        out["classroom_play_error"] = (str(error).splitlines() or [type(error).__name__])[0]
    return out


if __name__ == "__main__":
    print(figures())
