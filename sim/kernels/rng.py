"""Counter-based random numbers: a uniform draw is a hash of (seed, stream, week, index).

No generator state is carried, so a draw depends only on who draws it, for which decision and
in which week. Two scenarios with the same seed therefore see the same numbers until their
states differ (common random numbers), the draws do not depend on the order agents are
processed in, and results are identical with and without `NUMBA_DISABLE_JIT=1`.

Two widths: `bits`/`uniform` give 53 bits from a 64-bit hash (firms, shipments, Python-side
decisions); `bits31` gives 31 bits from 32-bit hashes, which AVX2 computes eight at a time, for
the users kernel's millions of person-agents.
"""

import math
import warnings

import numba
import numpy as np

# With the JIT off, uint64 scalar arithmetic wraps exactly as compiled code does but NumPy warns.
if numba.config.DISABLE_JIT:
    warnings.filterwarnings("ignore", message="overflow encountered", category=RuntimeWarning)

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
S30, S27, S31, S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
# lowbias32 (C. Wellons, hash-prospector): a 32-bit integer hash, two multiplies a round
LOW1, LOW2 = np.uint32(0x7FEB352D), np.uint32(0x846CA68B)
U1, U15, U16, U32, LOW_HALF = (np.uint32(1), np.uint32(15), np.uint32(16), np.uint64(32),
                               np.uint64(0xFFFFFFFF))
TO_UNIT31 = 1.0 / 2147483648.0  # 2**-31

# One stream per decision; never reuse a number for a different decision. Person-agents take
# two numbers a week: OVERDOSE, and STATE_CHANGE, which one ladder of cumulative limits turns
# into the week's state change (death, treatment, remission, relapse, recovery or starting; see
# `sim.kernels.users.agent_week`). 13, 14 and 15 are retired.
REFUSE, MAKER_RAID, MAKER_SWITCH, MAKER_RELIST, MAKER_ENTRY = 1, 2, 3, 4, 5
PRECURSOR_INSPECT, LOAD_INSPECT, LAB_RAID, SUPPLIER_SEARCH, LINK_LOSS = 6, 7, 8, 9, 10
OVERDOSE, STATE_CHANGE, SETUP = 11, 12, 16
LAB_RAID_SUCCESS, LINK_CUT, DELIST, ENTRANT, ORDER_QUEUE = 17, 18, 19, 20, 21


@numba.njit(cache=True)
def mix64(x):
    """splitmix64 finaliser: a bijective scramble of a uint64."""
    x = (x ^ (x >> S30)) * MIX1
    x = (x ^ (x >> S27)) * MIX2
    return x ^ (x >> S31)


@numba.njit(cache=True)
def _stream_key(seed, stream, week):
    k = mix64(np.uint64(seed) + GOLDEN)
    k = mix64(k ^ (np.uint64(stream) * GOLDEN))
    return mix64(k ^ (np.uint64(week) + np.uint64(1)) * MIX1)


N_STREAMS = 22   # stream ids 0..21: every one above
WEEK_KEYS: dict = {}   # (seed, week) -> every stream's key that week, for the weeks asked last


@numba.njit(cache=True)
def week_keys(seed, week, n_streams):
    """The keys of streams 0..n_streams - 1 in one week."""
    keys = np.empty(n_streams, np.uint64)
    for stream in range(n_streams):
        keys[stream] = _stream_key(seed, stream, week)
    return keys


def keys_of_week(seed: int, week: int) -> np.ndarray:
    """Every stream's key in one week (uint64, indexed by stream id). The phases ask for
    about twenty a week, some more than once: a week's keys are computed in one call and kept
    for the 64 (seed, week) pairs asked last."""
    keys = WEEK_KEYS.get((seed, week))
    if keys is None:
        if len(WEEK_KEYS) >= 64:
            WEEK_KEYS.clear()
        keys = WEEK_KEYS[seed, week] = week_keys(seed, week, N_STREAMS)
    return keys


def stream_key(seed: int, stream: int, week: int) -> np.uint64:
    """The key of one decision stream in one week (a uint64 the kernels take as is), from
    `keys_of_week` for the streams above."""
    if not 0 <= stream < N_STREAMS:
        return np.uint64(_stream_key(seed, stream, week))
    return keys_of_week(seed, week)[stream]


@numba.njit(cache=True)
def bits(key, index):
    """53 random bits (an int64 in [0, 2**53)) for agent/item `index` under a stream key."""
    return np.int64(mix64(key ^ (np.uint64(index) * GOLDEN)) >> S11)


@numba.njit(cache=True)
def uniform(key, index):
    """Uniform [0, 1) for agent/item `index` under a stream key: `bits` x 2**-53."""
    return float(bits(key, index)) * TO_UNIT


@numba.njit(cache=True)
def threshold(p):
    """The int64 t with `bits(key, i) < t` exactly when `uniform(key, i) < p`: a decision with
    probability p taken on the bits, without converting them to a float."""
    if not p > 0.0:   # also NaN, as `uniform < nan` is never true
        return np.int64(0)
    return np.int64(math.ceil(min(p, 1.0) / TO_UNIT))


@numba.njit(inline="always")
def lowbias32(x):
    """One lowbias32 round: a bijective scramble of a uint32 (each step cast back to 32 bits, so
    compiled and interpreted code wrap alike)."""
    x = np.uint32(x ^ (x >> U16))
    x = np.uint32(x * LOW1)
    x = np.uint32(x ^ (x >> U15))
    x = np.uint32(x * LOW2)
    return np.uint32(x ^ (x >> U16))


@numba.njit(inline="always")
def halves(key):
    """A 64-bit stream key as the (low, high) uint32 pair `bits31` takes."""
    return np.uint32(key & LOW_HALF), np.uint32(key >> U32)


@numba.njit(inline="always")
def bits31(key_halves, index):
    """31 random bits (an int32 in [0, 2**31)) for agent `index` (< 2**31) under a stream key
    given as its `halves`: two 32-bit hash rounds, keyed by the low and the high half.
    Vectorises on AVX2 (eight agents at a time)."""
    low, high = key_halves
    x = lowbias32(np.uint32(np.uint32(index) ^ low))
    return np.int32(lowbias32(np.uint32(x + high)) >> U1)


@numba.njit(cache=True)
def threshold31(p):
    """The int32 t with `bits31(key, i) <= t` exactly when `bits31(key, i) x 2**-31 < p`: -1
    for p <= 0 or NaN (never), 2**31 - 1 for p >= 1 (always)."""
    if not p > 0.0:
        return np.int32(-1)
    return np.int32(math.ceil(min(p, 1.0) / TO_UNIT31) - 1)


def bits31_np(key, index: np.ndarray) -> np.ndarray:
    """NumPy twin of `bits31`, vectorised over an index array (`lowbias32` and `halves` run as
    plain Python on uint32 arrays, which wrap as compiled code does)."""
    low, high = _python(halves)(np.uint64(key))
    hash32 = _python(lowbias32)
    x = hash32(np.asarray(index).astype(np.uint32) ^ low)
    return (hash32(x + high) >> U1).astype(np.int32)


def _python(function):
    """A kernel's plain Python function (the function itself when the JIT is off)."""
    return getattr(function, "py_func", function)


def stream_key_np(seed: int, stream: int, week: int) -> np.uint64:
    """NumPy twin of `stream_key`."""
    with np.errstate(over="ignore"):
        return np.uint64(_python(_stream_key)(seed, stream, week))


def uniforms_np(key, index: np.ndarray) -> np.ndarray:
    """NumPy twin of `uniform`, vectorised over an index array."""
    x = np.asarray(index, dtype=np.uint64) * GOLDEN ^ np.uint64(key)
    x = (x ^ (x >> S30)) * MIX1
    x = (x ^ (x >> S27)) * MIX2
    x = x ^ (x >> S31)
    return (x >> S11).astype(np.float64) * TO_UNIT


def draws(seed: int, stream: int, week: int, index) -> np.ndarray:
    """Uniform draws for Python-side decisions (cartels, regulators), same numbers as kernels."""
    return uniforms_np(stream_key(seed, stream, week), np.atleast_1d(index))
