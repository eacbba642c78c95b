"""The classroom dashboard in a real browser: `run.py demo` on a free loopback port, driven by
Debian's headless Chromium through Playwright (installed by `make test`; never
`playwright install`). The machine has no internet: every front-end file must come from the
offline asset cache."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.classroom.charts import REFERENCE_COLOR
from sim.classroom.network_view import regulator_position

CHINA_SQUARE = regulator_position("china")
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TIMEOUT_MS = 90_000
PROJECTOR = {"width": 1280, "height": 800}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(args: list[str], log: Path, env: dict | None = None):
    """`python run.py ARGS --port P` on a free port, once it answers; returns (process, url)."""
    port = free_port()
    with open(log, "w") as sink:
        process = subprocess.Popen([sys.executable, "run.py", *args, "--port", str(port)],
                                   cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail(f"the server did not start:\n{log.read_text()}")
        time.sleep(0.5)


def stop(process) -> None:
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python run.py demo` on a free port; yields (url, log file)."""
    log = tmp_path_factory.mktemp("demo") / "server.log"
    process, url = start(["demo"], log)
    yield url, log
    stop(process)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium (apt)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url):
    """A new tab on the dashboard at a projector's 1280x800, collecting console errors; waits
    for the controls."""
    page = browser.new_page(viewport=PROJECTOR)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.get_by_text("Step: 0").wait_for(timeout=TIMEOUT_MS)
    return page, errors


def counter(page) -> int:
    """The step the page's counter shows."""
    return int(re.search(r"Step: (\d+)", page.get_by_text("Step:").inner_text()).group(1))


def step(page, times: int = 1) -> int:
    """Press Step and wait for the counter each time; returns the step reached."""
    for _ in range(times):
        now = counter(page)
        page.get_by_role("button", name="Step").click()
        page.get_by_text(f"Step: {now + 1}").wait_for(timeout=TIMEOUT_MS)
    return now + 1


def monitor(page, label: str, expected: str | None = None) -> str:
    """A monitor's value, once it shows `expected` (monitors redraw just after the counter)."""
    from playwright.sync_api import expect

    card = page.locator(".monitor", has_text=label).last
    if expected is not None:
        expect(card).to_contain_text(expected, timeout=TIMEOUT_MS)
    else:
        page.wait_for_timeout(500)
    return card.inner_text().replace(label, "").strip()


def chart_hash(page) -> str:
    page.wait_for_timeout(800)   # let Vega finish drawing
    return hashlib.sha256(page.locator(".vega-embed").first.screenshot()).hexdigest()


def inside(box: dict, viewport: dict = PROJECTOR) -> bool:
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= viewport["width"]
            and box["y"] + box["height"] <= viewport["height"])


def reference_lines(page) -> int:
    """Grey reference lines drawn in the charts (Vega draws lines as SVG paths)."""
    charts = page.locator(".vega-embed").nth(1)
    return charts.locator(f'path[stroke="{REFERENCE_COLOR}"]').count()


def test_projector_page_before_any_step(server, browser):
    """At 1280x800, with no scrolling: network, charts and controls in view; every lever at
    least 120 px wide and showing its value; the charts drawn, reference line included,
    before the first Step; a node's state on hover; none of Mesa's internal controls."""
    from playwright.sync_api import expect

    url, _ = server
    page, errors = open_page(browser, url)
    expect(page.locator(".vega-embed")).to_have_count(2, timeout=TIMEOUT_MS)
    page.wait_for_function(f"""() => document.querySelectorAll(
        '.vega-embed path[stroke="{REFERENCE_COLOR}"]').length >= 5""", timeout=TIMEOUT_MS)
    assert reference_lines(page) >= 5 and page.get_by_text("Step: 0").count() == 1
    scroll = page.evaluate("[document.documentElement.scrollWidth, "
                           "document.documentElement.scrollHeight]")
    assert scroll == [PROJECTOR["width"], PROJECTOR["height"]]
    network, charts = (page.locator(".vega-embed").nth(i).bounding_box() for i in (0, 1))
    assert inside(network) and inside(charts)
    assert network["width"] * network["height"] > charts["width"] * charts["height"]
    for name in ("Reset", "▶", "Step", "slow", "normal", "fast"):
        assert inside(page.get_by_role("button", name=name).bounding_box()), name
    levers = page.locator(".lever")
    assert levers.count() == 13
    for i in range(levers.count()):
        lever = levers.nth(i)
        control = lever.locator(".v-input").bounding_box()
        label = lever.locator(".lever-label").inner_text()
        assert control["width"] >= 120 and inside(lever.bounding_box()), label
        assert lever.locator(".lever-value").inner_text().strip(), label
    for mesa_control in ("Page 0", "Use Threads", "Render Interval", "Play Interval"):
        assert page.get_by_text(mesa_control).count() == 0, mesa_control
    # China's square (bottom left of the network) shows cooperation and enforcement on hover
    page.mouse.move(network["x"] + CHINA_SQUARE[0], network["y"] + CHINA_SQUARE[1])
    expect(page.locator("#vg-tooltip-element")).to_contain_text("cooperation with the US",
                                                                timeout=TIMEOUT_MS)
    assert errors == [], errors
    page.close()


def test_dashboard_in_a_browser(server, browser, tmp_path):
    url, log = server
    page, errors = open_page(browser, url)
    page.locator(".vega-embed").first.wait_for(timeout=TIMEOUT_MS)
    before = chart_hash(page)

    assert step(page, 3) == 3
    assert monitor(page, "Week", "3 · 25 Jan 2016").startswith("3 · 25 Jan 2016")
    assert chart_hash(page) != before, "the charts did not redraw after stepping"
    step(page, 7)
    monitor(page, "Week", "10 · 14 Mar 2016")
    deaths_plain = monitor(page, "Deaths so far")

    # a lever: naloxone for 90% of overdoses from 2016, then Reset: fewer deaths, same seed
    lever_slider(page, "Levers act from").press("Home")
    lever_slider(page, "Naloxone").press("End")
    page.locator(".lever", has_text="Naloxone").get_by_text("90% of overdoses").wait_for()
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("Step: 0").wait_for(timeout=TIMEOUT_MS)
    step(page, 10)
    monitor(page, "Week", "10 · 14 Mar 2016")
    deaths_treated = monitor(page, "Deaths so far")
    as_number = lambda text: float(text.replace(",", ""))  # noqa: E731
    assert as_number(deaths_treated) < as_number(deaths_plain)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)

    # a second tab gets its own model, at week 0
    other, other_errors = open_page(browser, url)
    other.get_by_text("Step: 0").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("Step: 10").count() == 1
    other.close()

    assert errors == [] and other_errors == [], errors + other_errors
    server_log = log.read_text()
    assert "Could not load URL" not in server_log, server_log
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_play_advances_weeks_until_paused(server, browser):
    """▶ steps the model week after week in its own thread, redrawing as it goes, until ❚❚: the
    counter passes 10 (Solara's "Too many renders triggered" would stop it at once), then holds
    still once paused; no errors on the page."""
    from playwright.sync_api import expect

    url, _ = server
    page, errors = open_page(browser, url)
    page.get_by_role("button", name="▶").click()
    page.wait_for_function("""() => {
        const m = document.body.innerText.match(/Step: (\\d+)/);
        return m && Number(m[1]) >= 10; }""", timeout=TIMEOUT_MS)
    page.get_by_role("button", name="❚❚").click(timeout=TIMEOUT_MS)
    expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=TIMEOUT_MS)
    paused = counter(page)
    settled = [paused, -1]
    for _ in range(TIMEOUT_MS // 1000):   # the week under way when ❚❚ came may still be drawn
        page.wait_for_timeout(1000)
        settled = [counter(page), *settled[:1]]
        if settled[0] == settled[1]:
            break
    assert settled[0] == settled[1] and settled[0] - paused <= 1, (
        f"the model kept stepping after ❚❚ (step {paused}, then {settled[0]})")
    assert "Too many renders" not in page.content()
    assert errors == [], errors


def lever_slider(page, label: str):
    return page.locator(".lever", has_text=label).get_by_role("slider")


JOIN_CODE = "T3ST"
TEAM_NAMES = {"us": "United States", "china": "China", "mexico": "Mexico"}


def test_teams_mode_with_four_browsers(browser, tmp_path):
    """Teacher and three teams in four browser contexts: the code admits, each team moves its
    own lever, the teacher plays the year, every context sees the new year and the moves; a
    team cannot take another's levers; a context without the code sees nothing."""
    from playwright.sync_api import expect

    log = tmp_path / "teams.log"
    process, url = start(["classroom", "--teams"], log, {"CLASSROOM_JOIN_CODE": JOIN_CODE})
    errors: list[str] = []

    def context():
        page = browser.new_context(viewport=PROJECTOR).new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    try:
        teacher_url = re.search(r"Teacher \(projector\): (\S+)", log.read_text()).group(1)
        teacher = context()
        teacher.goto(teacher_url)
        expect(teacher.locator(".year")).to_have_text("Year 2025", timeout=TIMEOUT_MS)

        outsider = context()
        outsider.goto(url + "?teacher=guess")
        outsider.get_by_label("Join code").fill("ABCD")
        outsider.get_by_role("button", name="Join").click()
        expect(outsider.locator(".refused")).to_contain_text("not this class's code",
                                                             timeout=TIMEOUT_MS)

        students = {}
        for team, name in TEAM_NAMES.items():
            page = context()
            page.goto(url)
            page.get_by_label("Join code").fill(JOIN_CODE.lower())
            page.get_by_role("button", name="Join").click()
            page.get_by_role("button", name=f"Play {name}").click()
            page.get_by_text("Your levers for 2025").wait_for(timeout=TIMEOUT_MS)
            students[team] = page
        students["us"].locator(".lever", has_text="US sanctions").get_by_role("switch").press("Space")
        students["china"].get_by_role("button", name="deal").click()
        students["mexico"].locator(".lever", has_text="lab raids").get_by_role("slider").press("End")
        moves = ("US sanctions on Chinese firms: on", "Cooperation with the US: deal",
                 "Mexico's lab raids: x5 today's")
        for move in moves:
            expect(teacher.locator(".moves", has_text=move)).to_have_count(1, timeout=TIMEOUT_MS)

        # the US tries to take China's seat, and with it China's levers: refused on the server
        students["us"].get_by_role("button", name="Play China").click()
        expect(students["us"].locator(".refused")).to_contain_text(
            "You play United States: you cannot join China", timeout=TIMEOUT_MS)
        assert students["us"].locator(".lever", has_text="Cooperation with the US").count() == 0

        teacher.get_by_role("button", name="Play 2025").click()
        for page in (teacher, *students.values()):
            expect(page.locator(".year")).to_have_text("Year 2026 · 2025 played",
                                                       timeout=TIMEOUT_MS)
            for move in moves:
                expect(page.locator(".moves", has_text=move)).to_have_count(1)
        expect(students["mexico"].get_by_text("Mexico's scorecard, 2025")).to_be_visible()
        assert outsider.locator(".year, .moves, .vega-embed, .lever").count() == 0
        assert errors == [], errors
    finally:
        stop(process)
