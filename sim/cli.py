"""Command line.

    python run.py scenarios/baseline.yaml [--seed N] [--weeks N] [--out DIR] [--force]
    python run.py run scenarios/baseline.yaml ...
    python run.py validate scenarios/mine.yaml [more.yaml ...]
    python run.py profile scenarios/baseline.yaml [--weeks N] [--set users.agents=N]
    python run.py compare / sweep ...    (paired replicates; see --help)
    python run.py sensitivity BASE [POLICY] --method sobol|morris --n N
    python run.py discover BASE POLICY --n N [--threshold X]
    python run.py demo [--port 8765] [--host 127.0.0.1] [--scenario FILE]
    python run.py classroom --teams [--port 8765] [--host 127.0.0.1] [--scenario FILE]
    python run.py lesson N [--out DIR]

Bad input exits with status 2 and a message naming the file, the line and the key.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sim.config import ScenarioError, load_scenario
from sim.validation import MAX_WEEKS, check_horizon

EXIT_BAD_INPUT = 2
COMMANDS = ("run", "validate", "compare", "sweep", "calibrate", "sensitivity", "discover",
            "profile", "demo", "lesson", "classroom")
STUDIES = ("compare", "sweep", "calibrate", "sensitivity", "discover")   # keep runs in --out
TABLE_ROWS = ("overdose_deaths", "synthetic_opioid_deaths", "fentanyl_to_us_kg",
              "fentanyl_seized_kg", "fentanyl_seized_gross_kg", "fentanyl_seized_mx_kg",
              "precursor_shipped_kg", "precursor_seized_kg",
              "cartel_revenue_usd", "retail_price_usd_per_mg", "china_cooperation",
              "users_active", "users_in_treatment")


class Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and the usage on bad arguments (its default too)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def whole_number(low: int, high: int):
    """An argparse type: a whole number in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low} to {high}, got {value}")
        return value

    return parse


positive_int = whole_number(1, 10**9)
count_int = whole_number(1, 100_000)     # replicates, screened points: lists held in memory
weeks_int = whole_number(1, MAX_WEEKS)   # the dates the model handles; see check_horizon
seed_int = whole_number(0, 2**63 - 1)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="run.py", description="Agent-based simulation of the illicit "
                    "fentanyl supply chain. `run.py FILE` is short for `run.py run FILE`.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = commands.add_parser("run", help="run a scenario and write its results")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--seed", type=seed_int, help="random seed (default: the scenario's)")
    run.add_argument("--weeks", type=weeks_int,
                     help="run N weeks from the start (default: the scenario's weeks)")
    run.add_argument("--out", type=Path, help="output folder (default: "
                     "results/<scenario name>/<timestamp>/)")
    run.add_argument("--force", action="store_true", help="replace --out if it exists")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar or table")
    profile = commands.add_parser("profile", help="run a scenario without writing results and "
                                  "print the time per phase of the week")
    profile.add_argument("scenario", type=Path, help="scenario YAML file")
    profile.add_argument("--seed", type=seed_int, help="random seed (default: the scenario's)")
    profile.add_argument("--weeks", type=weeks_int, help="run N weeks (default: the "
                         "scenario's weeks)")
    for sub in (run, profile):
        sub.add_argument("--set", action="append", metavar="PARAMETER=VALUE",
                         help="set a parameter (group.key) for this run, e.g. "
                         "users.agents=10000000; repeatable")
    validate = commands.add_parser("validate", help="check scenario files without running")
    validate.add_argument("scenarios", type=Path, nargs="+", help="scenario YAML files")
    compare = commands.add_parser("compare", help="paired replicates of scenarios: "
                                  "comparison.csv and a report")
    compare.add_argument("scenarios", type=Path, nargs="*", help="scenario YAML files; "
                         "differences are against the first")
    compare.add_argument("--window", help="also total over YYYY-MM:YYYY-MM")
    compare.add_argument("--posterior", metavar="FILE", help="draw each replicate's parameters "
                         "from this posterior CSV (default: the first scenario's posterior: "
                         "key; 'none': seeds only)")
    sweep = commands.add_parser("sweep", help="a parameter grid with replicates: sweep.csv")
    sweep.add_argument("scenario", type=Path, help="base scenario YAML file")
    sweep.add_argument("--set", action="append", metavar="PARAMETER=V1,V2",
                       help="a parameter (group.key) and its values; repeat for a grid")
    calibrate = commands.add_parser("calibrate", help="fit the scenario's calibration: block "
                                    "to observed data: fitted.yaml, fit.csv, fit.png")
    calibrate.add_argument("scenario", type=Path, help="scenario YAML file with a calibration: "
                           "block")
    calibrate.add_argument("--method", choices=METHODS, default="point", help="point: the "
                           "best fit (default); posterior: a posterior over the free parameters "
                           "and priors (posterior.csv; docs/uncertainty.md)")
    calibrate.add_argument("--lhs-points", type=count_int,
                           help="point: Latin hypercube points screened first (default 24)")
    calibrate.add_argument("--max-evals", type=whole_number(0, 10**6),
                           help="point: Nelder-Mead evaluations after the screen (default 40)")
    calibrate.add_argument("--design-points", type=whole_number(2, 100_000), help="posterior: "
                           "Latin hypercube points run first (default 20 per parameter)")
    calibrate.add_argument("--refine-points", type=whole_number(0, 100_000), help="posterior: "
                           "posterior draws run to refine the emulator (default 10 per parameter)")
    calibrate.add_argument("--draws", type=count_int, help="posterior: draws written to "
                           "posterior.csv (default 1000)")
    calibrate.add_argument("--check-runs", type=whole_number(0, 100_000), help="posterior: "
                           "draws run once each for the predictive band (default 60)")
    sensitivity = commands.add_parser(
        "sensitivity", help="how much each uncertain parameter moves the outcomes and a policy's "
        "effect (SALib): sensitivity.csv and ranked figures")
    discover = commands.add_parser(
        "discover", help="the regions of parameter space where a policy fails (Latin "
        "hypercube, PRIM): boxes.csv and the trade-off figure")
    for sub in (sensitivity, discover):
        sub.add_argument("base", type=Path, help="base scenario YAML file")
        sub.add_argument("policy", type=Path, nargs="?" if sub is sensitivity else None,
                         help="policy scenario YAML file; its effect is its total minus BASE's")
        sub.add_argument("--parameters", metavar="PATH[=LOW:HIGH],...", help="comma-separated "
                         "parameters to sample (group.key, or policies.<id>.<field> with a "
                         "range); default: the documented set (docs/uncertainty.md), or the "
                         "posterior's parameters")
        sub.add_argument("--posterior", type=Path, metavar="FILE", help="posterior.csv (a "
                         "'weight' column and a column per parameter): sample its support")
        sub.add_argument("--window", help="total over YYYY-MM:YYYY-MM (default: the horizon)")
    sensitivity.add_argument("--method", choices=("sobol", "morris"), default="sobol",
                             help="Sobol' indices (default) or a Morris screen")
    sensitivity.add_argument("--n", type=count_int, default=64, help="base samples (default "
                             "64): Sobol' runs N x (D + 2) points for D parameters, N a power "
                             "of 2; Morris N trajectories of D + 1 points")
    discover.add_argument("--n", type=count_int, default=200, help="Latin hypercube points "
                          "(default 200)")
    discover.add_argument("--metric", default="overdose_deaths", help="the outcome the policy "
                          "should reduce (default overdose_deaths)")
    discover.add_argument("--threshold", type=float, default=0.0, help="the policy fails where "
                          "it reduces --metric by less than this, in its total's unit (default "
                          "0: where it raises it)")
    for sub in (compare, sweep, calibrate, sensitivity, discover):
        default = {"calibrate": None, "sensitivity": 1, "discover": 1}.get(sub.prog.split()[-1], 20)
        sub.add_argument("--replicates", type=count_int, default=default,
                         help="replicates per scenario, grid point, candidate or sampled point "
                         "(default 20; calibrate: 8, 3 with --method posterior; 1 for "
                         "sensitivity and discover)")
        sub.add_argument("--seed", type=seed_int, help="seed of replicate 0 (default: the "
                         "first scenario's); replicate r uses seed + r")
        if sub is not calibrate:   # calibrate runs the target years and scores one metric
            sub.add_argument("--weeks", type=weeks_int, help="weeks to run (default: the "
                             "scenario's)")
        if sub not in (calibrate, discover):
            sub.add_argument("--metrics", help="comma-separated metrics to total")
        sub.add_argument("--workers", type=positive_int, help="local processes (default: all "
                         "cores; 1 runs in this process)")
        sub.add_argument("--scheduler", help="address of a Dask scheduler, e.g. "
                         "tcp://127.0.0.1:8786")
        sub.add_argument("--out", type=Path, help="output folder")
        sub.add_argument("--force", action="store_true", help="replace --out if it exists")
        sub.add_argument("--resume", action="store_true", help="keep finished runs in --out")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
    demo = commands.add_parser("demo", help="the classroom dashboard in the browser (offline)")
    classroom = commands.add_parser("classroom", help="the classroom page; --teams: one shared "
                                    "model that teams play a year a round (HubNet style)")
    classroom.add_argument("--teams", action="store_true", help="teams mode: prints the "
                           "teacher's address and the students' join code")
    for sub in (demo, classroom):
        sub.add_argument("--port", type=whole_number(1, 65535), default=8765,
                         help="port (default 8765)")
        sub.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                         "127.0.0.1, this machine only; 0.0.0.0 lets the room's devices "
                         "connect)")
        sub.add_argument("--scenario", type=Path,
                         default=Path("scenarios/classroom_small.yaml"),
                         help="scenario the page opens with (the picker lists its folder)")
    lesson = commands.add_parser("lesson", help="a lesson's figure for slides (docs/classroom.md)")
    lesson.add_argument("number", type=whole_number(1, 5), help="lesson number, 1 to 5")
    lesson.add_argument("--replicates", type=count_int, default=3,
                        help="replicates per scenario (default 3)")
    lesson.add_argument("--out", type=Path, help="output folder (default: "
                        "results/lessons/lesson<N>/<timestamp>/, a new one each time)")
    lesson.add_argument("--force", action="store_true", help="replace --out if it exists")
    return parser


def format_value(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def print_table(summary: dict) -> None:
    """The run's totals in their units: a summed weekly flow in people, kg or US$; a level as
    its mean over the weeks."""
    print(f"\n{'metric':<28} {'total':>16}  unit")
    for name in TABLE_ROWS:
        print(f"{name:<28} {format_value(summary['totals'][name]):>16}  "
              f"{summary['total_units'][name]}")


def command_validate(args) -> int:
    status = 0
    for path in args.scenarios:
        try:
            scenario = load_scenario(path)
        except ScenarioError as err:
            print(f"error: {err}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        print(f"ok: {path}: scenario '{scenario.name}', {scenario.weeks} weeks from "
              f"{scenario.start}, seed {scenario.seed}, {len(scenario.policies)} policies")
    return status


def load_with_settings(args):
    """The scenario of `run`/`profile` with --seed, --weeks and single-valued --set applied
    (checked as the API and scenario files check them)."""
    from sim.ensemble import SET, parse_settings

    settings = parse_settings(args.set or [])
    several = [path for path, values in settings.items() if len(values) > 1]
    if several:
        raise ScenarioError(f"--set: {several[0]}: one value per parameter here (grids: sweep)")
    scenario = load_scenario(args.scenario).with_overrides(
        {path: values[0] for path, values in settings.items()}, seed=args.seed, weeks=args.weeks,
        source=SET)
    check_horizon(scenario, args.weeks, args.scenario)
    return scenario


def command_profile(args) -> int:
    from sim.model import FentanylModel
    from sim.profiling import PhaseClock

    scenario = load_with_settings(args)
    started = time.perf_counter()
    model = FentanylModel(scenario)
    model.clock = PhaseClock()
    built = time.perf_counter()
    model.run()
    print(f"{scenario.name}: {len(model.users):,} user slots, {len(model.makers):,} maker slots, "
          f"{model.shipments_inspected / scenario.weeks:,.0f} shipments/week, {scenario.weeks} "
          f"weeks; built in {built - started:.2f} s, ran in {time.perf_counter() - built:.2f} s")
    print(model.clock.table(scenario.weeks))
    return 0


def command_run(args) -> int:
    from tqdm import tqdm

    from sim.ensemble import run_model
    from sim.folders import atomic_folder
    from sim.output import new_run_folder, write_results

    scenario = load_with_settings(args)
    out = args.out if args.out is not None else new_run_folder(Path("results"), scenario.name)
    with atomic_folder(out, force=args.force, kind="run") as temp:
        with tqdm(total=scenario.weeks, unit="week", desc=scenario.name,
                  disable=args.quiet or None, file=sys.stderr) as bar:
            model, seconds = run_model(scenario, progress=lambda: bar.update(1))
        written = write_results(model, temp, seconds, plots=not args.no_plots)
    if not args.quiet:
        print_table(written)
    print(f"results: {out}")
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: nothing half-written is left, finished runs are kept."""


def _terminate(signum, frame):
    raise Terminated


@contextmanager
def sigterm_as_interrupt():
    """Within the block, SIGTERM raises `Terminated` (a KeyboardInterrupt) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader of the output went away (`run.py ... | head -1`): stop quietly, as Unix
        # tools do, with nothing more written to the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")
    args = build_parser().parse_args(argv)
    load_command(args.command)
    from sim.ensemble import EnsembleError

    try:
        with sigterm_as_interrupt():
            status = COMMAND_FUNCTIONS[args.command](args)
            sys.stdout.flush()   # a closed pipe shows here, not when the interpreter exits
            return status
    except (ScenarioError, EnsembleError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        raise
    except OSError as err:
        print(f"error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as err:
        kept = (" finished runs are kept (rerun with --resume);"
                if args.command in STUDIES else "")
        print(f"interrupted:{kept} no results were written", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT)


def study_options(args) -> dict:
    """The options `compare`, `sweep` and `calibrate` share, as the API's keyword arguments."""
    return {"replicates": args.replicates, "seed": args.seed, "workers": args.workers,
            "scheduler": args.scheduler, "out": args.out, "force": args.force,
            "resume": args.resume, "quiet": args.quiet}


def timestamped(*parts: str) -> Path:
    return Path("results", *parts, dt.datetime.now().strftime("%Y%m%d-%H%M%S"))


def command_study(args) -> int:
    from sim import study
    from sim.ensemble import SET, parse_settings

    options = {**study_options(args), "weeks": args.weeks, "metrics": args.metrics}
    if args.command == "compare":
        from sim.headline import terminal_text

        options["out"] = args.out or timestamped("compare")
        table = study.compare(args.scenarios, window=args.window, posterior=args.posterior,
                              **options)
        print(terminal_text(table) or "one scenario: nothing to compare against")
    else:
        options["out"] = args.out or timestamped("sweeps", load_scenario(args.scenario).name)
        study.sweep(args.scenario, parse_settings(args.set or []), source=SET, **options)
    print(f"results: {options['out']}")
    return 0


METHODS = ("point", "posterior")
POINT_REPLICATES, POSTERIOR_REPLICATES = 8, 3
METHOD_OPTIONS = {"point": ("lhs_points", "max_evals"),
                  "posterior": ("design_points", "refine_points", "draws", "check_runs")}


def command_calibrate(args) -> int:
    from sim.calibrate import calibrate
    from sim.posterior import calibrate_posterior, quantiles

    for method, names in METHOD_OPTIONS.items():
        given = [n for n in names if getattr(args, n) is not None]
        if given and method != args.method:
            raise ScenarioError(f"--{given[0].replace('_', '-')}: only with --method {method}")
    options = {n: getattr(args, n) for n in METHOD_OPTIONS[args.method]
               if getattr(args, n) is not None}
    out = args.out or timestamped("calibration")
    study = {**study_options(args), "out": out}
    if args.method == "posterior":
        table = quantiles(calibrate_posterior(args.scenario, **options, **{
            **study, "replicates": args.replicates or POSTERIOR_REPLICATES}))
    else:
        table = calibrate(args.scenario, **options, **{**study, "replicates": args.replicates
                                                       or POINT_REPLICATES})
    if not args.quiet:
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    print(f"results: {out}")
    return 0


def command_sensitivity(args) -> int:
    from sim.sensitivity import sensitivity, top

    out = args.out or timestamped("sensitivity", load_scenario(args.base).name)
    table = sensitivity(args.base, args.policy, method=args.method, n=args.n,
                        parameters=args.parameters, posterior=args.posterior,
                        metrics=args.metrics, window=args.window, weeks=args.weeks,
                        **{**study_options(args), "out": out})
    print(top(table))
    print(f"results: {out}")
    return 0


def command_discover(args) -> int:
    from sim.discovery import describe, discover

    out = args.out or timestamped("discover", load_scenario(args.policy).name)
    boxes = discover(args.base, args.policy, n=args.n, parameters=args.parameters,
                     posterior=args.posterior, metric=args.metric, threshold=args.threshold,
                     window=args.window, weeks=args.weeks, **{**study_options(args), "out": out})
    print(describe(boxes))
    print(f"results: {out}")
    return 0


DASHBOARD_PACKAGES = ("solara", "ipyvuetify", "ipyvue", "altair")   # the `classroom` extra


def command_demo(args) -> int:
    return serve_dashboard(args, teams=False)


def command_classroom(args) -> int:
    return serve_dashboard(args, teams=args.teams)


def serve_dashboard(args, teams: bool) -> int:
    """`demo` and `classroom`: the dashboard's packages must be there (else the command that
    installs them, exit 2), and the scenario must load."""
    missing = [name for name in DASHBOARD_PACKAGES if not importable(name)]
    if missing:
        print(f"error: the classroom dashboard needs packages that are not installed "
              f"({', '.join(missing)}). Install them with:\n    pip install -e '.[classroom]'"
              "\n(from the repository's folder; or `make demo`, which installs them and serves "
              "the dashboard)", file=sys.stderr)
        return EXIT_BAD_INPUT
    from sim.classroom.server import serve

    load_scenario(args.scenario)   # a bad file fails here, with its line and key
    return serve(args.host, args.port, args.scenario, teams=teams)


def importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def command_lesson(args) -> int:
    from sim.classroom.lessons import write_lesson
    from sim.output import new_run_folder

    out = args.out or new_run_folder(Path("results") / "lessons", f"lesson{args.number}")
    out = write_lesson(args.number, out, args.replicates, args.force)
    print(f"results: {out}")
    return 0


COMMAND_FUNCTIONS = {"run": command_run, "validate": command_validate, "compare": command_study,
                     "sweep": command_study, "calibrate": command_calibrate,
                     "sensitivity": command_sensitivity, "discover": command_discover,
                     "profile": command_profile, "demo": command_demo, "lesson": command_lesson,
                     "classroom": command_classroom}
# the modules each command's work is in, imported by `load_command` before it runs (`demo` and
# `classroom` first check that the dashboard's packages are there)
COMMAND_MODULES = {"run": ("sim.output",), "validate": ("sim.ensemble",),
                   "compare": ("sim.study", "sim.headline"), "sweep": ("sim.study",),
                   "calibrate": ("sim.calibrate", "sim.posterior"),
                   "sensitivity": ("sim.sensitivity",), "discover": ("sim.discovery",),
                   "profile": ("sim.model", "sim.profiling"), "demo": (), "classroom": (),
                   "lesson": ("sim.classroom.lessons", "sim.output")}


def load_command(command: str) -> None:
    """Import the modules `command` runs on, then turn garbage collection on if it is off:
    `run.py` turns it off at start-up, because while the program's modules load (some 200,000
    objects, 1.5% of them garbage) its full passes take about 0.2 s of every command's start.
    What has loaded is frozen first (`gc.freeze`): else the first collection would go through
    all of it (0.18 s)."""
    try:
        for module in COMMAND_MODULES[command]:
            importlib.import_module(module)
    finally:
        if not gc.isenabled():
            gc.freeze()
            gc.enable()
