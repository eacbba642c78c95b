"""`run.py demo`: serve the classroom dashboard with Solara, offline."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from sim.classroom import assets

APP = Path(__file__).with_name("app.py")
SCENARIO_ENV = "CLASSROOM_SCENARIO"   # the scenario the page opens with (a file path)
# How long Solara keeps the session (model, levers) of a tab that lost its connection, for it to
# come back to; the model waits meanwhile (`ClassroomModel.wait_for_tab`). Solara's default is
# 24 hours; SOLARA_KERNEL_CULL_TIMEOUT in the environment wins.
DISCONNECTED_TAB_KEPT = "15m"
STOP_WAIT_S = 10   # how long a stopping server may take before it is killed (s)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def solara_command(host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "solara", "run", str(APP), "--host", host, "--port",
            str(port), "--no-open", "--production", "--log-level", "warning",
            "--log-level-uvicorn", "warning"]


def solara_env(scenario: Path) -> dict[str, str]:
    """The server's environment: offline assets, no telemetry, the opening scenario."""
    return {"SOLARA_KERNEL_CULL_TIMEOUT": DISCONNECTED_TAB_KEPT, **os.environ,
            "SOLARA_ASSETS_PROXY_CACHE_DIR": str(assets.cache_dir()),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", SCENARIO_ENV: str(scenario.resolve())}


def serve(host: str, port: int, scenario: Path) -> int:
    """Run the dashboard until Ctrl-C. Returns an exit status."""
    if host not in ("127.0.0.1", "localhost"):
        print(f"warning: serving on {host}: anyone who can reach this machine can open the "
              "dashboard", file=sys.stderr)
    if not port_free(host, port):
        print(f"error: port {port} on {host} is in use; choose another with --port",
              file=sys.stderr)
        return 2
    if assets.missing():
        print("Fetching the dashboard's front-end files once (npm registry)...")
        try:
            assets.fill_cache()
        except RuntimeError as error:
            print(f"warning: {error}; the page will need internet access to load",
                  file=sys.stderr)
    print(f"Classroom dashboard: http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}/ "
          "(Ctrl-C to stop)", flush=True)
    # stopped with SIGTERM (a service manager, a test), take the server down too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    server = subprocess.Popen(solara_command(host, port), env=solara_env(scenario))
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
