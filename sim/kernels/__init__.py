"""Hot loops: `@numba.njit(cache=True)` functions over NumPy arrays, each with a plain NumPy twin
(`*_np`) that the tests hold them to."""

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import numba

# Parallel kernels run on Numba's OpenMP pool. Idle OpenMP threads spin by default, which on a
# busy machine (other processes, ensemble workers) slowed the users kernel 40-fold; passive
# threads sleep instead. Set before the pool starts; a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def cache_folder(kernels: Path, environ: Mapping[str, str]) -> Path:
    """Where Numba caches the compiled kernels: a folder named after a digest of every kernel
    source, inside NUMBA_CACHE_DIR if set, else beside the kernels (`__pycache__`), else, when
    the package is read-only, in the user's cache folder. Numba itself notices when a kernel's
    own file changes but not when a function it inlines from another file does (`rng.bits31`
    in `users.py`), so without the digest an update could load a stale kernel."""
    sources = b"".join(path.read_bytes() for path in sorted(kernels.glob("*.py")))
    name = "numba-" + hashlib.sha256(sources).hexdigest()[:16]
    if environ.get("NUMBA_CACHE_DIR"):
        return Path(environ["NUMBA_CACHE_DIR"]) / name
    if os.access(kernels, os.W_OK):
        return kernels / "__pycache__" / name
    user_cache = environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(user_cache) / "fentanyl-sim" / name


# before the kernel modules are imported: each cached function takes its folder when decorated
numba.config.CACHE_DIR = str(cache_folder(Path(__file__).parent, os.environ))
