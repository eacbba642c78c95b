"""`run.py demo` and `run.py classroom --teams`: serve a classroom page with Solara, offline.

The Solara server is a child process that dies with this one: on Linux the kernel sends it
SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG), even if the parent is killed outright;
elsewhere it runs in its own process group, which a normal exit or Ctrl-C takes down.
"""

from __future__ import annotations

import ctypes
import errno
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sim.classroom import assets

APP = Path(__file__).with_name("app.py")
TEAMS_APP = Path(__file__).with_name("teams_app.py")
SCENARIO_ENV = "CLASSROOM_SCENARIO"   # the scenario the page opens with (a file path)
CODE_ENV = "CLASSROOM_JOIN_CODE"      # teams mode: the code students type
TEACHER_ENV = "CLASSROOM_TEACHER_KEY"  # teams mode: the secret in the teacher's address
JOIN_URL_ENV = "CLASSROOM_JOIN_URL"   # teams mode: the address students open
# (CODE_ENV set in the environment of `run.py classroom --teams` fixes the code, e.g. in tests)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# How long Solara keeps the session (model, levers) of a tab that lost its connection, for it to
# come back to; the model waits meanwhile (`ClassroomModel.wait_for_tab`). Solara's default is
# 24 hours; SOLARA_KERNEL_CULL_TIMEOUT in the environment wins.
DISCONNECTED_TAB_KEPT = "15m"
STOP_WAIT_S = 10   # how long a stopping server may take before it is killed (s)
PR_SET_PDEATHSIG = 1
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 4


class HostError(Exception):
    """An address this machine cannot listen on, or a port already taken."""


def check_listen(host: str, port: int) -> None:
    """Raise `HostError` saying what is wrong if the server could not listen on host:port: a
    name that does not resolve, an address that is not this machine's (or a family it lacks,
    e.g. ::1 without IPv6), or a port in use."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise HostError(f"--host {host}: not an address of this machine ({error.strerror})") \
            from None
    family, kind, proto, _, address = infos[0]
    try:
        probe = socket.socket(family, kind, proto)
    except OSError as error:
        raise HostError(f"--host {host}: this machine cannot listen on that kind of address "
                        f"({error.strerror})") from None
    with probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise HostError(f"port {port} on {host} is in use; choose another with --port") \
                    from None
            raise HostError(f"--host {host}: cannot listen there ({error.strerror}); use an "
                            "address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None


def die_with_parent() -> None:
    """In the child, before it runs the server: get SIGTERM when the parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    os.setpgrp()   # its own group: a terminal's Ctrl-C reaches the parent, which stops it


def solara_command(app: Path, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "solara", "run", str(app), "--host", host, "--port",
            str(port), "--no-open", "--production", "--log-level", "warning",
            "--log-level-uvicorn", "warning"]


def solara_env(scenario: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: offline assets, no telemetry, the opening scenario."""
    return {"SOLARA_KERNEL_CULL_TIMEOUT": DISCONNECTED_TAB_KEPT, **os.environ,
            "SOLARA_ASSETS_PROXY_CACHE_DIR": str(assets.cache_dir()),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", SCENARIO_ENV: str(scenario.resolve()),
            **(extra or {})}


def reachable_address(host: str) -> str:
    """The address others type to reach a server listening on `host`."""
    if host not in ("0.0.0.0", "::"):
        return f"[{host}]" if ":" in host else host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))   # picks the outward interface; sends nothing
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def serve(host: str, port: int, scenario: Path, teams: bool = False) -> int:
    """Run the dashboard (or, with `teams`, teams mode) until Ctrl-C. Returns an exit status."""
    try:
        check_listen(host, port)
    except HostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if host not in LOOPBACK and not teams:
        print(f"warning: serving on {host}: anyone who can reach this machine can open the "
              "dashboard", file=sys.stderr)
    if assets.missing():
        print("Fetching the dashboard's front-end files once (npm registry)...")
        try:
            assets.fill_cache()
        except RuntimeError as error:
            print(f"warning: {error}; the page will need internet access to load",
                  file=sys.stderr)
    url = f"http://{reachable_address(host)}:{port}/"
    extra = {}
    if teams:
        code, key = os.environ.get(CODE_ENV) or new_code(), secrets.token_urlsafe(12)
        extra = {CODE_ENV: code, TEACHER_ENV: key, JOIN_URL_ENV: url}
        print(f"Teams mode. Teacher (projector): {url}?teacher={key}\n"
              f"Students: open {url} and type the code {code}   (Ctrl-C to stop)", flush=True)
    else:
        print(f"Classroom dashboard: {url} (Ctrl-C to stop)", flush=True)
    # stopped with SIGTERM (a service manager, a test), take the server down too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    server = subprocess.Popen(solara_command(TEAMS_APP if teams else APP, host, port),
                              env=solara_env(scenario, extra), preexec_fn=die_with_parent)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def new_code() -> str:
    """A teams mode join code: short, and easy to read off a projector (no 0/O, 1/I)."""
    return "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
