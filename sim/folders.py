"""Results folders: the marker that says this program made a folder, atomic publication, the
clean-up of what killed runs left behind, and a lock against two processes in one folder.

The promises (docs/reliability.md):
- a folder is replaced (`--force`) or worked in (`--resume`) only if it holds the marker file
  `MARKER`, and `--force` never replaces the current folder or one of its parents;
- results appear all at once or not at all: they are written into `.NAME.partial-PID` beside the
  target and moved into place with one rename that never replaces a folder that appeared in the
  meantime (both are kept, and the second gets a clear error);
- `.NAME.partial-PID` and `.NAME.old-PID` folders of processes that no longer run are removed
  at the next run into the same parent folder (only those holding the marker).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import signal
from contextlib import contextmanager
from pathlib import Path

MARKER = ".fentanyl-sim-results"
LEFTOVER = re.compile(r"\..+\.(?:partial|old)-(?P<pid>\d+)")
STOP_AT = "FENTANYL_SIM_STOP_AT"


class OutputExists(FileExistsError):
    """The output folder exists and may not be replaced or used (the message says why)."""


def mark(folder: Path, kind: str) -> None:
    """Write the marker that lets `--force` replace `folder` and `--resume` continue it."""
    (folder / MARKER).write_text(json.dumps({"made_by": "fentanyl-sim", "kind": kind}) + "\n")


def is_ours(folder: Path) -> bool:
    """A real folder (not a link) with the marker this program writes in every results folder."""
    return folder.is_dir() and not folder.is_symlink() and (folder / MARKER).is_file()


def made_by(folder: Path) -> str | None:
    """The command that made `folder` (run, compare, sweep, ...), from its marker."""
    try:
        with open(folder / MARKER, encoding="utf-8") as handle:
            return json.loads(handle.read(4096)).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


def _busy(folder: Path) -> bool:
    """Another process holds the lock of `folder` (see `locked`)."""
    try:
        handle = open(folder / MARKER, "rb")   # noqa: SIM115 (closed below)
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False


def check_ours(folder: Path, option: str) -> None:
    """Refuse to replace (`--force`) or write into (`--resume`) a folder this program did not
    make, one another process is working in, or (for `--force`) the current folder or a parent
    of it."""
    if option == "--force":
        here, there = Path.cwd().resolve(), Path(folder).resolve()
        if there == here or there in here.parents:
            raise OutputExists(f"{folder}: is the current folder or one of its parents; --force "
                               "never replaces those. Choose another --out")
    if not is_ours(folder):
        raise OutputExists(f"{folder}: not a results folder made by this program (it has no "
                           f"{MARKER} file); {option} only uses folders this program made. Move "
                           "it away or choose another --out")
    if _busy(folder):
        raise OutputExists(f"{folder}: another process is working in it; wait for it to end or "
                           "choose another --out")


@contextmanager
def locked(folder: Path):
    """Hold `folder`'s lock (on its marker file) while a study works in it; a second process
    asking for it gets a clear error."""
    with open(folder / MARKER, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputExists(f"{folder}: another process is working in it; wait for it to end "
                               "or choose another --out") from None
        yield


@contextmanager
def working_folder(out: Path, force: bool, resume: bool, kind: str):
    """The folder a study (compare, sweep, calibrate) keeps its runs and report in, locked while
    the block runs: continued with `resume`, replaced with `force` (each only if this program
    made it), refused if it exists otherwise. A new folder is claimed in one step (mkdir), so of
    two processes given the same new folder, the second gets a clear error."""
    out = Path(out)
    if os.path.lexists(out):
        if not (resume or force):
            raise OutputExists(f"{out}: output folder exists; use --resume to continue it, "
                               "--force to replace it, or choose another --out")
        check_ours(out, "--resume" if resume else "--force")
        if resume and made_by(out) != kind:
            raise OutputExists(f"{out}: made by {made_by(out) or 'another command'}, not "
                               f"{kind}; --resume continues a folder of the same command")
        if not resume:
            shutil.rmtree(out)
    if not os.path.lexists(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            out.mkdir()
        except FileExistsError:
            raise OutputExists(f"{out}: another process made this folder just now; choose "
                               "another --out") from None
        mark(out, kind)
    with locked(out):
        yield out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:    # another user's process
        return True
    return True


def clean_leftovers(parent: Path) -> list[Path]:
    """Remove the `.NAME.partial-PID` and `.NAME.old-PID` folders in `parent` that this
    program made (they hold the marker) for processes that no longer run; returns them."""
    removed = []
    for entry in parent.iterdir() if parent.is_dir() else ():
        match = LEFTOVER.fullmatch(entry.name)
        if match and not _alive(int(match["pid"])) and is_ours(entry):
            shutil.rmtree(entry)
            removed.append(entry)
    return removed


def _load_renameat2():
    try:
        return ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError, TypeError):   # not Linux, or a C library without it
        return None


_RENAMEAT2 = _load_renameat2()
_AT_FDCWD, _RENAME_NOREPLACE = -100, 1


def rename_new(source: Path, target: Path) -> None:
    """Rename `source` to `target`, which must not exist: FileExistsError if it does. One atomic
    step on Linux (renameat2 with RENAME_NOREPLACE); elsewhere, or on a file system without it,
    a check just before the rename."""
    if _RENAMEAT2 is not None:
        if _RENAMEAT2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target),
                      _RENAME_NOREPLACE) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(target))
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
    os.rename(source, target)


def _keep_aside(folder: Path, target: Path) -> Path:
    """Move `folder` to the first free `TARGET-2`, `TARGET-3`, ... and return that name."""
    n = 2
    while True:
        aside = target.with_name(f"{target.name}-{n}")
        try:
            rename_new(folder, aside)
            return aside
        except FileExistsError:
            n += 1


def publish(temp: Path, target: Path, replace: bool) -> None:
    """Move the finished folder `temp` to `target`; with `replace`, an existing `target` (checked
    again: it may have changed while the run worked) is replaced. A `target` that appeared in
    the meantime is left as it is: `temp` is kept beside it and OutputExists says where."""
    old = None
    if replace and os.path.lexists(target):
        check_ours(target, "--force")
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        rename_new(target, old)
    try:
        rename_new(temp, target)
    except FileExistsError:
        aside = _keep_aside(temp, target)
        raise OutputExists(f"{target}: appeared while this run was working (another run with "
                           f"the same --out?); it is left as it is, and this run's results are "
                           f"in {aside}") from None
    finally:
        if old is not None:
            shutil.rmtree(old)


@contextmanager
def atomic_folder(target: Path, force: bool, kind: str = "results"):
    """Yield a new, marked temporary folder beside `target`; on success it becomes `target`
    (replacing it only with `force`, and only a folder this program made); on any error or
    interrupt it is removed and `target` is untouched."""
    target = Path(target)
    if os.path.lexists(target):
        if not force:
            raise OutputExists(f"{target}: output folder exists; use --force to replace it, or "
                               "choose another --out")
        check_ours(target, "--force")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target.parent)
    temp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    if is_ours(temp):              # left by an earlier process that had this PID
        shutil.rmtree(temp)
    temp.mkdir()
    try:
        mark(temp, kind)
        yield temp
        stop_at("publish", 1)
        publish(temp, target, force)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def stop_at(point: str, count: int) -> None:
    """A test hook: with FENTANYL_SIM_STOP_AT=POINT:N:SIGNAL (e.g. runs:2:SIGKILL) in the
    environment, send SIGNAL to this process when POINT is reached the N-th time. Points:
    `runs` (a run of an ensemble was saved) and `publish` (results are about to be moved into
    place). Tests use it to stop a process at a chosen point, never by timing."""
    wanted = os.environ.get(STOP_AT, "").split(":")
    if len(wanted) == 3 and wanted[0] == point and wanted[1] == str(count):
        os.kill(os.getpid(), signal.Signals[wanted[2]])
