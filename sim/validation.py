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
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)
MAX_WEEKS = (LATEST - EARLIEST).days // 7 + 1   # the most weeks any run can have


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


# Limits on what a YAML file may hold (scenario and network files are a few kB and nest about
# five levels deep): a file of more bytes, more values once aliases (*name) are expanded, or
# deeper nesting is refused before it is built, so an alias bomb or a deep file costs little.
MAX_FILE_BYTES = 4 * 2**20
MAX_VALUES = 100_000
MAX_DEPTH = 32


def read_file(path: Path, what: str = "file", limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; a folder, FIFO or device is refused
    (opened without blocking, so a FIFO cannot hang)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: {what} not found") from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read the {what}: {err.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScenarioError(f"{path}: not a regular file; expected a {what}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ScenarioError(f"{path}: larger than {limit:,} bytes; expected a {what}")
    return data


def _text(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ScenarioError(f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save "
                            "the file as UTF-8") from None


def _walk(root, source: Source) -> None:
    """Record the line of every key path of a composed YAML document, refusing duplicate keys,
    keys that are not plain values, aliases to a value that contains them, nesting deeper than
    MAX_DEPTH and more than MAX_VALUES values once aliases are expanded (without building
    anything: aliases share their node)."""
    stack, count = [(root, (), frozenset())], 0
    while stack:
        node, path, above = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ScenarioError(f"{source.file}: more than {MAX_VALUES:,} values once aliases "
                                "(*name) are expanded; refusing the file (an alias bomb?)")
        if id(node) in above:
            fail(source, path, "an alias (*name) refers to a value that contains it")
        if len(path) > MAX_DEPTH:
            fail(source, path, f"nested more than {MAX_DEPTH} levels deep")
        inside = above | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, value_node in node.value:
                line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    fail(source, path, f"expected plain keys (names), got a list or mapping as a "
                         f"key at line {line}")
                key_path = path + (key_node.value,)
                source.lines[key_path] = line
                if key_node.value in seen:
                    fail(source, key_path, f"duplicate key (also at line {seen[key_node.value]}); "
                         "give each key once")
                seen[key_node.value] = line
                stack.append((value_node, key_path, inside))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                source.lines[path + (i,)] = item.start_mark.line + 1
                stack.append((item, path + (i,), inside))


# PyYAML's libyaml parser when it was built with it (the wheels are): the same documents, about
# ten times faster on the network file.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(SAFE_LOADER):
    """SafeLoader that leaves dates as text, so `parse_date` checks them with their line."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str, source: Source, loader_class=_Loader):
    """Parse one YAML document within the limits above, recording the line of every key."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _walk(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else (text[:err.position].count("\n") + 1
                                           if isinstance(err, yaml.reader.ReaderError) else None)
        where = f"{source.file}:{line}" if line else str(source.file)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ScenarioError(f"{where}: malformed YAML: {problem}") from None
    except ScenarioError:
        raise
    except (ValueError, RecursionError) as err:   # e.g. an integer of more than 4,300 digits
        raise ScenarioError(f"{source.file}: malformed YAML: {str(err).split(';')[0]}") from None
    finally:
        loader.dispose()


def load_yaml(text: str):
    """`yaml.safe_load` through `SAFE_LOADER`, within the same limits as `read_yaml`."""
    return _load(text, Source(Path("<text>")), SAFE_LOADER)


def read_yaml(path: Path, what: str = "scenario") -> tuple[dict, Source]:
    """Parse a YAML file that holds a mapping (of `what` keys) and record the line of every
    key; a file that is not a regular UTF-8 file within the limits above is refused."""
    source = Source(path)
    data = _load(_text(read_file(path, f"{what} file"), path), source)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping of {what} keys at the top level, "
                            f"got {type(data).__name__}")
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
        fail(source, path, f"expected a number ({kind.__name__}), got {shown(value)}")
    if isinstance(value, int) and abs(value) > 2**63:    # beyond any range here, and a float's
        fail(source, path, f"{shown(value)} is out of range [{low}, {high}]")
    if not math.isfinite(value):
        fail(source, path, f"expected a finite number, got {value!r}")
    if kind is int and not float(value).is_integer():
        fail(source, path, f"expected a whole number, got {value!r}")
    value = kind(value)
    if (low is not None and value < low) or (high is not None and value > high):
        fail(source, path, f"{value} is out of range [{low}, {high}]")
    return value


def shown(value, most: int = 60) -> str:
    """`repr(value)`, shortened to about `most` characters for an error message."""
    text = repr(value)
    return text if len(text) <= most else f"{text[:most]}... ({len(text):,} characters)"


def check_horizon(scenario, weeks_option: int | None, file) -> None:
    """The run's last week starts by LATEST (a longer `--weeks`, or a scenario's `weeks`, is
    refused before anything is allocated)."""
    last = scenario.start + dt.timedelta(weeks=scenario.weeks - 1)
    if last > LATEST:
        where = "weeks (--weeks)" if weeks_option is not None else f"{file}: weeks"
        most = (LATEST - scenario.start).days // 7 + 1
        raise ScenarioError(f"{where}: {scenario.weeks:,} weeks from {scenario.start} run past "
                            f"{LATEST}, the last date the model handles; at most {most:,} weeks "
                            "from this start")


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


def number(kind, low, high):
    """A field check (for `check_entries`): a number of `kind` in [low, high]."""
    return lambda value, source, path: check_number(value, kind, source, path, low, high)


def choice(values):
    """A field check (for `check_entries`): one of `values`."""

    def check(value, source, path):
        if not isinstance(value, str) or value not in values:
            fail(source, path, f"expected one of {', '.join(values)}, got {shown(value)}."
                 + suggest(value, values).split(".", 1)[1])

    return check


def text_name(value, source, path) -> None:
    """A field check (for `check_entries`): a name, as text."""
    if not isinstance(value, str) or not value.strip():
        fail(source, path, f"expected a name (text), got {shown(value)}")


def check_entries(data: dict, key: str, fields: dict, source: Source, path: tuple = ()) -> list:
    """`data[key]`: a non-empty list of mappings of `fields` (name -> (required, check)), each
    present value checked, and names (where entries have them) unique."""
    here = path + (key,)
    entries = data.get(key)
    required = [f for f, (needed, _) in fields.items() if needed]
    if not isinstance(entries, list) or not entries:
        fail(source, here, f"expected a non-empty list of entries with {', '.join(required)}")
    names: dict = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            fail(source, here + (i,), f"expected a mapping of {', '.join(fields)}, got "
                 f"{shown(entry)}")
        check_keys(entry, fields, source, here + (i,))
        for key_name, (needed, check) in fields.items():
            if key_name in entry:
                check(entry[key_name], source, here + (i, key_name))
            elif needed:
                fail(source, here + (i,), f"missing {key_name} (each entry needs "
                     f"{', '.join(required)})")
        if "name" not in fields:
            continue
        if entry["name"] in names:
            fail(source, here + (i, "name"), f"'{entry['name']}' is listed twice (also entry "
                 f"{names[entry['name']]})")
        names[entry["name"]] = i
    return entries
