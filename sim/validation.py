"""Scenario-file validation helpers: the error type, where a value came from, YAML reading with
the line of every key, and type, range and key checks.

A leaf module: it imports nothing from `sim`, so every module that validates input (scenario,
network, policies, calibration block, command line) can use it without an import cycle. Every
error names the file, the line and the key path and is raised as `ScenarioError` (the command
line turns it into exit status 2).
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)


class ScenarioError(ValueError):
    """A scenario that cannot be run, with where and why."""


@dataclass
class Source:
    """Where a value came from: the file and the YAML line of each key path."""

    file: Path
    lines: dict[tuple, int] = field(default_factory=dict)

    def where(self, path: tuple) -> str:
        probe = tuple(path)
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        return f"{self.file}:{line}" if line else f"{self.file}"


def fail(source: Source, path: tuple, message: str) -> None:
    key = ".".join(str(p) for p in path) or "(top level)"
    raise ScenarioError(f"{source.where(path)}: {key}: {message}")


def suggest(word: str, valid) -> str:
    valid = list(valid)
    close = difflib.get_close_matches(str(word), valid, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"valid keys: {', '.join(valid)}.{hint}"


def _collect_lines(node, path: tuple, lines: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key_path = path + (key_node.value,)
            lines[key_path] = key_node.start_mark.line + 1
            _collect_lines(value_node, key_path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _collect_lines(item, path + (i,), lines)


# PyYAML's libyaml parser when it was built with it (the wheels are): the same documents, about
# ten times faster on the network file.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str):
    """`yaml.safe_load` through `SAFE_LOADER`."""
    return yaml.load(text, Loader=SAFE_LOADER)


class _Loader(SAFE_LOADER):
    """SafeLoader that leaves dates as text, so `parse_date` checks them with their line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> tuple[dict, Source]:
    """Parse a YAML mapping and record the line of every key."""
    source = Source(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: file not found") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err.strerror}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(f"{where}: malformed YAML: {problem}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of scenario keys at the top level, "
                            f"got {type(data).__name__}")
    _collect_lines(node, (), source.lines)
    return data, source


def parse_date(value, source: Source, path: tuple) -> dt.date:
    """`YYYY-MM` (first of the month) or `YYYY-MM-DD`, within 1990-2100."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = (dt.date.fromisoformat(value + "-01") if len(value) == 7
                      else dt.date.fromisoformat(value))
        except ValueError:
            fail(source, path, f"expected a date YYYY-MM or YYYY-MM-DD, got '{value}'")
    else:
        fail(source, path, f"expected a date YYYY-MM or YYYY-MM-DD, got {value!r}")
    if not EARLIEST <= parsed <= LATEST:
        fail(source, path, f"date {parsed} out of range ({EARLIEST} to {LATEST})")
    return parsed


def check_number(value, kind: type, source: Source, path: tuple, low=None, high=None):
    """Type and range check for a scalar; ints are accepted where floats are expected."""
    if kind is bool:
        if not isinstance(value, bool):
            fail(source, path, f"expected true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(source, path, f"expected a number ({kind.__name__}), got {value!r}")
    if not math.isfinite(value):
        fail(source, path, f"expected a finite number, got {value!r}")
    if kind is int and not float(value).is_integer():
        fail(source, path, f"expected a whole number, got {value!r}")
    value = kind(value)
    if (low is not None and value < low) or (high is not None and value > high):
        fail(source, path, f"{value} is out of range [{low}, {high}]")
    return value


def check_keys(data: dict, valid, source: Source, path: tuple) -> None:
    for key in data:
        if key not in valid:
            fail(source, path + (key,), f"unknown key. {suggest(key, valid)}")


def check_nested(data, spec: dict, source: Source, path: tuple) -> dict:
    """Validate {name: {key: number}} against spec[name][key] = (type, low, high); returns the
    numbers converted to their types."""
    if not isinstance(data, dict):
        fail(source, path, f"expected a mapping of names ({', '.join(spec)}) to values")
    check_keys(data, spec, source, path)
    out = {}
    for name, values in data.items():
        if not isinstance(values, dict):
            fail(source, path + (name,), f"expected a mapping of {', '.join(spec[name])}")
        check_keys(values, spec[name], source, path + (name,))
        out[name] = {}
        for key, value in values.items():
            kind, low, high = spec[name][key]
            out[name][key] = check_number(value, kind, source, path + (name, key), low, high)
    return out
