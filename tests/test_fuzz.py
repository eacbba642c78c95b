"""A seeded fuzz of `validate`: a few hundred generated files (mutations of the shipped scenarios
and of sim/data/world.yaml as a network file, and hostile YAML: bombs, recursion, deep nesting,
bad encodings, huge numbers, wrong types, devices and FIFOs). Every case must exit 0 or 2 with
no traceback; every refusal names a file. The cases run in-process (`sim.cli.main`) in ONE
subprocess with a memory limit (RLIMIT_AS) and an alarm per case as a hang guard.

Run the driver alone: python -m tests.test_fuzz CASES.json
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import yaml

from sim.calibration_block import resolve_file

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
WORLD = ROOT / "sim" / "data" / "world.yaml"
SEED = 22
MEMORY_HEADROOM = 1 << 30      # bytes of address space a case may add to the driver's
HANG_GUARD_S = 60               # per case; a hang guard, not a timing assertion

ODD_VALUES = [-1, 0, 1.5, 1e12, -1e12, 10**309, -(10**309), 2**63, float("nan"), float("inf"),
              "text", "", "2150-01", "2016-13-01", "$\\foo$", [], {}, None, True, ["sanctions"],
              {"a": 1}, [1, [2, [3]]], "0x10", "1e400"]


# --- generating the cases --------------------------------------------------------------------

def _absolute(doc: dict, folder: Path) -> dict:
    """Make a shipped scenario's relative paths (extends, calibration file) absolute."""
    doc = copy.deepcopy(doc)
    if isinstance(doc.get("extends"), str):
        doc["extends"] = str(folder / doc["extends"])
    resolve_file(doc.get("calibration"), folder / "scenario.yaml")
    return doc


def _spots(node, path=()):
    """Every (path) to a value in a parsed document."""
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(
        node, list) else ()
    for key, value in items:
        yield from _spots(value, path + (key,))


def _mutate(doc, rng: random.Random):
    """One random change: a value replaced by an odd one, a key or item dropped, duplicated,
    renamed or added."""
    path = rng.choice([p for p in _spots(doc) if p])
    *parents, last = path
    holder = doc
    for key in parents:
        holder = holder[key]
    action = rng.choice(["value", "value", "value", "drop", "copy", "rename", "add"])
    if action == "value":
        holder[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif action == "drop":
        del holder[last]
    elif action == "copy" and isinstance(holder, list):
        holder.append(copy.deepcopy(holder[last]))
    elif action == "rename" and isinstance(holder, dict) and len(str(last)) > 1:
        holder[str(last)[:-1]] = holder.pop(last)
    else:
        target = holder[last] if isinstance(holder[last], dict) else holder
        if isinstance(target, dict):
            target[rng.choice(["bogus", "name", "labs", "type", "file", "extends"])] = \
                copy.deepcopy(rng.choice(ODD_VALUES))


def _text_mutation(text: bytes, rng: random.Random) -> bytes:
    """Damage at the level of bytes: a cut, bad bytes, a line doubled, indentation broken."""
    lines = text.split(b"\n")
    n = rng.randrange(len(lines))
    action = rng.choice(["cut", "bytes", "double", "indent", "swap"])
    if action == "cut":
        return text[:rng.randrange(len(text))]
    if action == "bytes":
        at = rng.randrange(len(text))
        return text[:at] + rng.choice([b"\xff\xfe", b"\x00", b"\xc3", b"\t", b"{[", b"*x",
                                       b"&a ", b"!!python/object:os.system"]) + text[at:]
    if action == "double":
        lines.insert(n, lines[n])
    elif action == "indent":
        lines[n] = b"   " + lines[n]
    else:
        m = rng.randrange(len(lines))
        lines[n], lines[m] = lines[m], lines[n]
    return b"\n".join(lines)


def _bomb(levels: int) -> str:
    names = [f"l{i}" for i in range(levels + 1)]
    text = f"{names[0]}: &{names[0]} [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    for a, b in zip(names, names[1:], strict=False):
        text += f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n"
    return text


def hostile(folder: Path) -> dict[str, bytes | str]:
    """Named hostile files (text or bytes); some also make FIFOs or chains of files."""
    os.mkfifo(folder / "fifo")
    for i in range(40):
        (folder / f"chain{i}.yaml").write_text(f"extends: chain{i + 1}.yaml\n" if i < 39
                                               else "name: end\n")
    baseline = ROOT / "scenarios" / "baseline.yaml"
    cases = {f"bomb{levels}": _bomb(levels) for levels in (4, 7, 9, 12)}
    cases.update({
        "bomb in parameters": "name: x\nparameters:\n  users: &u {agents: 1}\n" + _bomb(9),
        "recursive list": "x: &x [*x]\n",
        "recursive mapping": "name: x\nparameters: &p {users: *p}\n",
        "recursive policies": f"extends: {baseline}\npolicies: &p [*p]\n",
        "undefined alias": "name: *nowhere\n",
        "deep flow": "name: x\nparameters: " + "[" * 2000 + "]" * 2000 + "\n",
        "deep block": "name: x\nparameters:\n" + "".join("  " * (i + 1) + f"k{i}:\n"
                                                      for i in range(200)) + "  " * 201 + "v\n",
        "deep flow mapping": "name: x\nnetwork: " + "{a: " * 300 + "1" + "}" * 300 + "\n",
        "extends chain": "extends: chain0.yaml\n",
        "extends /dev/zero": "extends: /dev/zero\n",
        "extends FIFO": "extends: fifo\n",
        "extends folder": "extends: .\n",
        "extends itself": "extends: extends_itself.yaml\n",
        "network /dev/zero": "name: x\nnetwork: {file: /dev/zero}\n",
        "network FIFO": "name: x\nnetwork: {file: fifo}\n",
        "network folder": "name: x\nnetwork: {file: .}\n",
        "network a list": "name: x\nnetwork: {file: [a, b]}\n",
        "latin-1": "name: caf\xe9\n".encode("latin-1"),
        "utf-16": "name: x\nweeks: 3\n".encode("utf-16"),
        "nul bytes": b"name: x\x00\nweeks: 3\n",
        "utf-8 BOM": "\ufeffname: bom\nweeks: 3\n".encode(),
        "empty": "",
        "comments only": "# nothing\n",
        "two documents": "name: a\n---\nname: b\n",
        "python tag": "name: !!python/object/apply:os.system ['true']\n",
        "set tag": "name: !!set {a, b}\n",
        "huge seed": f"name: x\nseed: {10**309}\n",
        "huge weeks": f"name: x\nweeks: {10**400}\n",
        "huge years": f"name: x\nyears: {10**309}\n",
        "5,000 digits": "name: x\nweeks: 1" + "0" * 5000 + "\n",
        "huge labs override": f"name: x\nnetwork:\n  cartels: {{sinaloa: {{labs: {10**309}}}}}\n",
        "huge policy field": f"extends: {baseline}\npolicies:\n  - type: sanctions\n    "
                             f"start: 2020-01\n    firms: {10**309}\n",
        "type list": "name: x\npolicies:\n  - type: [sanctions]\n    start: 2020-01\n",
        "type mapping": "name: x\npolicies:\n  - type: {a: 1}\n    start: 2020-01\n",
        "members mapping": "name: x\npolicies:\n  - type: taskforce\n    start: 2020-01\n"
                           "    members: {a: 1}\n",
        "chemicals nested": "name: x\npolicies:\n  - type: class_scheduling\n    start: 2020-01\n"
                            "    regulator: us\n    chemicals: [[npp]]\n",
        "policies mapping": "name: x\npolicies: {a: 1}\n",
        "parameters list": "name: x\nparameters: [1, 2]\n",
        "network number": "name: x\nnetwork: 5\n",
        "extends list": "extends: [a.yaml]\n",
        "duplicate keys": "name: x\nweeks: 3\nweeks: 4\n",
        "complex key": "name: x\n? [a, b]\n: 1\n",
        "null key": "name: x\nnull: 3\n",
        "bool key": "name: x\nparameters: {users: {true: 1}}\n",
        "too large": "name: x\n" + "#" * (5 << 20) + "\n",
        "long string": "name: x\ndescription: " + "y" * 1_000_000 + "\n",
        "merge key": "base: &b {name: x}\n<<: *b\n",
    })
    return cases


def generate(folder: Path, rng: random.Random) -> list[tuple[str, str]]:
    """Write the cases into `folder`; returns (case name, file to validate) pairs."""
    cases = []

    def add(name: str, content: bytes | str, stem: str | None = None) -> Path:
        path = folder / f"{stem or 'case' + str(len(cases))}.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        cases.append((name, str(path)))
        return path

    for source in SCENARIOS:
        doc = _absolute(yaml.safe_load(source.read_text()), source.parent)
        for i in range(10):
            mutated = copy.deepcopy(doc)
            for _ in range(rng.randint(1, 3)):
                if any(True for p in _spots(mutated) if p):
                    _mutate(mutated, rng)
            add(f"{source.name} mutation {i}", yaml.safe_dump(mutated, sort_keys=False))
        for i in range(3):
            text = yaml.safe_dump(doc, sort_keys=False).encode()
            add(f"{source.name} bytes {i}", _text_mutation(text, rng))
    world = yaml.safe_load(WORLD.read_text())
    for i in range(90):
        mutated = copy.deepcopy(world)
        for _ in range(rng.randint(1, 2)):
            _mutate(mutated, rng)
        network = folder / f"world{i}.yaml"
        if i % 6 == 5:
            network.write_bytes(_text_mutation(WORLD.read_bytes(), rng))
        else:
            network.write_text(yaml.safe_dump(mutated, sort_keys=False))
        add(f"world.yaml mutation {i}", f"name: fuzz{i}\nweeks: 10\nnetwork: {{file: {network}}}\n")
    for name, content in hostile(folder).items():
        stem = "extends_itself" if name == "extends itself" else None
        add(f"hostile: {name}", content, stem)
    return cases


# --- the driver (one process, many cases) ----------------------------------------------------

class Hung(Exception):
    pass


def _hung(*_):
    raise Hung


def drive(cases_file: str) -> None:
    """Validate every case with `sim.cli.main` in this process under a memory limit; print one
    JSON line per case: name, exit status, standard error, and any exception's traceback."""
    from sim.cli import main

    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_HEADROOM, size + MEMORY_HEADROOM))
    signal.signal(signal.SIGALRM, _hung)
    for name, path in json.loads(Path(cases_file).read_text()):
        err, escaped = io.StringIO(), None
        signal.alarm(HANG_GUARD_S)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = main(["validate", path])
        except SystemExit as stop:
            status = stop.code
        except BaseException:   # noqa: BLE001  (MemoryError, Hung, anything: reported)
            status, escaped = None, traceback.format_exc()
        finally:
            signal.alarm(0)
        print(json.dumps({"name": name, "path": path, "status": status,
                          "stderr": err.getvalue()[:2000], "exception": escaped}), flush=True)


def test_validate_survives_a_seeded_fuzz(tmp_path):
    cases = generate(tmp_path, random.Random(SEED))
    assert len(cases) >= 300
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "tests.test_fuzz", str(tmp_path / "cases.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["name"] for r in results] == [name for name, _ in cases]
    bad = [r for r in results if r["status"] not in (0, 2) or r["exception"]
           or "Traceback" in r["stderr"]]
    assert not bad, json.dumps(bad[:5], indent=1)
    for r in results:
        if r["status"] == 2:     # one message, naming a file
            assert r["stderr"].startswith("error: ") and r["stderr"].count("\n") == 1, r
            assert "/" in r["stderr"].split(":")[1], r
    hostile_ok = [r["name"] for r in results if r["name"].startswith("hostile") and
                  r["status"] == 0]
    assert hostile_ok == ["hostile: utf-8 BOM", "hostile: long string"], hostile_ok   # valid
    statuses = [r["status"] for r in results]
    assert statuses.count(0) >= 20 and statuses.count(2) >= 150   # the mutations do both


if __name__ == "__main__":
    drive(sys.argv[1])
