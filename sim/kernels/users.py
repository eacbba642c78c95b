"""People who use illicit opioids: overdose, death, medication for opioid use disorder (MOUD),
abstinence after leaving it, relapse, remission, initiation.

One entry per person-agent (see `sim.actors.users.Users`); the market hands each region the
share of doses that contain fentanyl, their mean fentanyl content and its log-sd.
"""

import math
from typing import NamedTuple

import numba
import numpy as np

from sim.kernels import rng

# TREATMENT: on medication (MOUD); ABSTINENT: left MOUD, not using (yet)
EMPTY, USING, TREATMENT, DEAD, RECOVERED, ABSTINENT = 0, 1, 2, 3, 4, 5
# flag on the state of an agent (using or on MOUD) whose overdose `fast_pass` left to
# `exact_pass` (within one step only); STATE_BITS: the state without it
UNDECIDED, STATE_BITS = 0x80, 0x7F
# the flag in each byte of a uint64 (eight agents' states), and how `byte_of` finds a byte
UNDECIDED_BYTES, ONE64 = np.uint64(0x8080808080808080), np.uint64(1)
FLAG_BIT, BYTE_INDEX, TOP_BYTE = np.uint64(7), np.uint64(0x0001020304050607), np.uint64(56)
# the states as int32: `fast_pass` works on states widened to 32-bit lanes
USING32, TREATMENT32, DEAD32, RECOVERED32, ABSTINENT32, UNDECIDED32 = (
    np.int32(s) for s in (USING, TREATMENT, DEAD, RECOVERED, ABSTINENT, UNDECIDED))
# rows of the counts the kernel returns, per region; C_SYNTHETIC: deaths from the fentanyl part
# of the overdose hazard (a subset of C_DEATHS)
(C_DEATHS, C_OVERDOSES, C_ENTERED, C_USING, C_TREATMENT, C_STARTED, C_SYNTHETIC,
 C_ABSTINENT) = range(8)
N_COUNTS = 8


class UserRules(NamedTuple):
    """One week's rules for every person-agent, as one record the kernels take (all float64;
    units as in the parameter table, `sim.actors.users.PARAMS`). Built with `user_rules`."""

    heroin_dose_mg: float                 # mg fentanyl-equivalent in a heroin dose
    uses_per_week: float                  # uses per person-week
    hazard_per_use: float                 # overdoses per use at dose = tolerance
    hazard_exponent: float                # g: hazard grows with (dose / tolerance)^g
    sigma_heroin: float                   # log-sd of mg in a heroin dose
    fatality: float                       # deaths per overdose, naloxone reversals included
    treatment_entry_prob: float           # 1/week, using -> MOUD
    treatment_after_overdose_prob: float  # per non-fatal overdose
    treatment_exit_prob: float            # 1/week, leaving MOUD (-> abstinent)
    moud_overdose_ratio: float            # overdose hazard on MOUD / off it, same tolerance
    abstinence_end_prob: float            # 1/week, an abstinent spell ends (relapse or recovery)
    relapse_prob: float                   # share of abstinent spells that end in use
    remission_prob: float                 # 1/week, using -> recovered without treatment
    initiation_prob: float                # 1/week per idle slot, starting to use
    tolerance_adapt_rate: float           # 1/week
    tolerance_elasticity: float           # d log tolerance / d log mean dose
    tolerance_loss: float                 # 1/week, lost while abstinent
    tolerance_min_mg: float               # mg fentanyl-equivalent


def user_rules(**values: float) -> UserRules:
    """A `UserRules` from keyword values, each converted to float (so the kernels compile once,
    for one record type); a missing or unknown name is an error."""
    return UserRules(**{name: float(value) for name, value in values.items()})


# Agents per chunk of the parallel loop. Fixed, so each chunk's partial counts (integers, added
# in chunk order) and every agent's draws are the same on any number of threads. Below 2**16:
# `fast_pass` counts MOUD entries and starts in the two 16-bit halves of one uint32.
CHUNK_AGENTS = 4_096
# Fewest agent slots for which `step_users` runs its chunks on Numba's threads; below it, one
# thread steps them in turn: waking the others costs more than they save (at 32,000 slots the
# kernel took 0.128 ms a week on 2 threads against 0.075 ms on one; at 480,000, 0.55 against
# 0.86; docs/performance.md). The output is the same either way.
PARALLEL_MIN_SLOTS = 131_072
ENTERED_ONE, STARTED_ONE, NONE_U32 = np.uint32(1), np.uint32(1 << 16), np.uint32(0)
HALF_BITS, HALF_MASK = np.uint32(16), np.uint32(0xFFFF)
# Most agent slots a population may have: agent indices are hashed as 32-bit integers (the
# parameter bounds allow at most 2e8 slots: users.agents x users.slot_headroom).
MAX_SLOTS = 2**31 - 1
# Relative slack of the float32 overdose bounds in `overdose_bounds`: 50 times the float32
# rounding they can accumulate (a few parts in 1e7).
BOUND_SLACK = np.float32(1e-5)
HALF, BELOW, ABOVE = np.float32(0.5), np.float32(1.0) - BOUND_SLACK, np.float32(1.0) + BOUND_SLACK
TO_UNIT31_F32 = np.float32(rng.TO_UNIT31)
TWO31_F32, SMALLEST_F32 = np.float32(2.0**31), np.float32(np.finfo(np.float32).smallest_subnormal)


@numba.njit(inline="always")
def overdose_bounds(draw, tol_mg, rate_dose):
    """Whether an agent's overdose draw (31 bits) surely gives an overdose, and whether the
    float32 bounds leave it undecided. The rule is u < p, with u = draw x 2**-31 and p =
    -expm1(-h), h = rate_dose x tol_mg**-g (float64). As h - h**2/2 <= p <= h, u below the
    lower bound is an overdose and u at or above h is none, with `BOUND_SLACK` covering
    float32 rounding. rate_dose (float32, per week at 1 mg tolerance: uses x hazard per use x
    E[dose^g], times the MOUD ratio on medication) is h x tol_mg^2 here: for g != 2 (float32
    pow does not vectorise) the caller passes NaN, which leaves every draw to the exact rule.
    Draw 0 is never ruled out (h may have underflowed)."""
    h = rate_dose / (tol_mg * tol_mg)
    u = np.float32(draw) * TO_UNIT31_F32
    sure_yes = u < (h - HALF * h * h) * BELOW
    sure_no = (u > 0) & (u >= h * ABOVE)
    return sure_yes, not (sure_yes | sure_no)


@numba.njit(inline="always")
def no_overdose(draw, tol_mg, rate_bound):
    """Whether an agent's overdose draw (31 bits) surely gives no overdose, in float32 without
    a division: draw x tol_mg^2 >= rate_bound, with rate_bound = `bound_rate`
    (rate_dose x (1 + `BOUND_SLACK`) x 2**31). As p <= h = rate_dose x tol_mg**-2 (g = 2), a
    draw at or above h x 2**31 is no overdose; the slack covers float32 rounding. A NaN bound
    (g != 2) rules out nothing, nor does draw 0 (the bound is positive)."""
    return np.float32(draw) * (tol_mg * tol_mg) >= rate_bound


@numba.njit(inline="always")
def bound_rate(rate_dose, g):
    """`no_overdose`'s float32 bound for a float64 rate_dose (as in `overdose_bounds`): NaN
    unless the hazard exponent g is 2, and at least float32's smallest positive value, so that
    draw 0 is never ruled out."""
    if g != 2.0:
        return np.float32(np.nan)
    return max(np.float32(rate_dose) * ABOVE * TWO31_F32, SMALLEST_F32)


@numba.njit(cache=True)
def overdose_probability(rate_dose, tol_mg, g):
    """The overdose rule's p = -expm1(-rate_dose x tol_mg**-g), in float64 (rate_dose as in
    `overdose_bounds`): an agent overdoses when its draw x 2**-31 < p."""
    return -math.expm1(-rate_dose * float(tol_mg) ** -g)


@numba.njit(inline="always")
def agent_week(state, tol_mg, overdose, change, settled_mg, limits, tolerance_rules):
    """One person-agent's week, branch-free, given its state (int32), whether it overdoses (if
    using or on MOUD) and its STATE_CHANGE draw (31 bits). Each kind of agent climbs a ladder of
    two rungs on that one draw: change <= the first rung's limit moves it to the first rung's
    state, else change <= the second's (a cumulative limit) to the second's, else it stays:

        using, overdosed:   death        | MOUD (after an overdose)  | stays using
        using, no overdose: MOUD         | remission                 | stays using
        on MOUD, overdosed: death                                    | stays on MOUD
        on MOUD, no overdose: leaves MOUD (abstinent)                | stays on MOUD
        abstinent:          relapse      | recovered                 | stays abstinent
        idle (free slot, dead, recovered): starts using              | stays

    Tolerance: using, it moves toward `settled_mg`; on MOUD the medication holds it; abstinent,
    it falls; starting, it is a heroin dose. Returns (state (int32), tolerance_mg, overdoses,
    dies, starts using). `limits` are the `threshold31`s of `decision_limits`;
    `tolerance_rules` is float32 (adapt rate, 1 - loss while abstinent, minimum mg, heroin mg)."""
    dies, dies_or_treated, enters, enters_or_remits, leaves, relapses, ends, starts = limits
    adapt_rate, kept_abstinent, min_mg, heroin_mg = tolerance_rules
    using, treated, abstinent = state == USING32, state == TREATMENT32, state == ABSTINENT32
    idle = not (using | treated | abstinent)
    overdose = (using | treated) & overdose
    first = dies if overdose else enters
    first = leaves if treated & (not overdose) else first
    first = relapses if abstinent else first
    first = starts if idle else first
    second = dies_or_treated if overdose else enters_or_remits
    second = ends if abstinent else second
    second = first if treated | idle else second   # one rung: the second is the first
    to_first = DEAD32 if overdose else TREATMENT32
    to_first = ABSTINENT32 if treated & (not overdose) else to_first
    to_first = USING32 if abstinent | idle else to_first
    to_second = TREATMENT32 if overdose else RECOVERED32
    on_first = change <= first
    new = to_first if on_first else (to_second if change <= second else state)
    start = idle & on_first
    tol = tol_mg * kept_abstinent if abstinent else tol_mg + adapt_rate * (settled_mg - tol_mg)
    tol = max(min_mg, tol) if using | abstinent else (heroin_mg if start else tol_mg)
    return new, tol, overdose, overdose & on_first, start



@numba.njit(cache=True, error_model="numpy")
def fast_pass(first, state, tolerance_mg, rate_bounds, settled_mg, limits, tolerance_rules, keys,
              zero):
    """`agent_week` without an overdose for agents first, first + 1, ... (first: uint32) of one
    region (state, tolerance_mg: their slices). Agents using or on MOUD whose overdose draw
    `no_overdose` does not rule out (`rate_bounds`: its bounds off and on MOUD) keep their state
    and tolerance, flagged UNDECIDED, for `exact_pass`: about the share who overdose in a week
    (under 1% at the defaults), so the overdose rungs, deaths and their cause stay out of this
    loop. Vectorised: no branch, 32-bit lanes. `zero` is an int32 0 the compiler cannot see:
    OR-ed into each state, it keeps the state comparisons in 32-bit lanes (without it LLVM
    narrows them to bytes and converts masks between widths). Never compile it with `fastmath`:
    a NaN bound (hazard exponent != 2) must compare false. Returns the counts (rows as
    `N_COUNTS`; no deaths or overdoses: `exact_pass` counts them) of the agents it moved."""
    od_key, change_key = rng.halves(keys[0]), rng.halves(keys[1])
    bound_off, bound_on = rate_bounds
    n_using = n_treated = n_abstinent = np.int32(0)
    n_entered_started = NONE_U32   # MOUD entries in the low 16 bits, starts in the high 16
    for k in range(state.size):
        s, tol = np.int32(np.int32(state[k]) | zero), tolerance_mg[k]
        i = first + np.uint32(k)
        using, treated = s == USING32, s == TREATMENT32
        ruled_out = no_overdose(rng.bits31(od_key, i), tol, bound_on if treated else bound_off)
        undecided = (using | treated) & (not ruled_out)
        new, new_tol, _, _, start = agent_week(
            s, tol, False, rng.bits31(change_key, i), settled_mg, limits, tolerance_rules)
        new = np.int32(s | UNDECIDED32) if undecided else new
        state[k] = np.uint8(new)
        tolerance_mg[k] = tol if undecided else new_tol
        entered_started = ENTERED_ONE if using & (new == TREATMENT32) else NONE_U32
        entered_started = STARTED_ONE if start else entered_started
        n_entered_started = np.uint32(n_entered_started + entered_started)
        n_using = np.int32(n_using + (new == USING32))
        n_treated = np.int32(n_treated + (new == TREATMENT32))
        n_abstinent = np.int32(n_abstinent + (new == ABSTINENT32))
    none = np.int32(0)
    return (none, none, np.int32(n_entered_started & HALF_MASK), n_using, n_treated,
            np.int32(n_entered_started >> HALF_BITS), none, n_abstinent)


@numba.njit(inline="always")
def byte_of(lowest):
    """The byte b (0-7) of a uint64 whose flag bit (bit 7) is its only set bit. Shifted to bit 0
    of byte b, times 0x0001020304050607 it carries that constant's byte 7 - b, which holds b,
    into the top byte (uint64 products wrap)."""
    return np.int64(((lowest >> FLAG_BIT) * BYTE_INDEX) >> TOP_BYTE)


@numba.njit(inline="always")
def exact_agent(k, first, state, tolerance_mg, rates, g, bound_rates, settled_mg, fentanyl_part,
                limits, tolerance_rules, od_key, change_key, counts):
    """`exact_pass` for the flagged agent at k of the slices (agent index first + k)."""
    s, tol, i = np.int32(state[k] & STATE_BITS), tolerance_mg[k], first + k
    on_moud = s == TREATMENT32
    draw, change = rng.bits31(od_key, i), rng.bits31(change_key, i)
    overdose, undecided = overdose_bounds(draw, tol, bound_rates[1] if on_moud else bound_rates[0])
    fentanyl = False
    if undecided or (overdose and change <= limits[0]):   # limits[0]: death
        p = overdose_probability(rates[1] if on_moud else rates[0], tol, g)
        u = draw * rng.TO_UNIT31
        overdose, fentanyl = u < p, u < p * fentanyl_part
    new, new_tol, overdose, death, _ = agent_week(
        s, tol, overdose, change, settled_mg, limits, tolerance_rules)
    state[k], tolerance_mg[k] = np.uint8(new), new_tol
    counts[C_DEATHS] += death
    counts[C_SYNTHETIC] += death & fentanyl
    counts[C_OVERDOSES] += overdose
    counts[C_ENTERED] += (s == USING32) & (new == TREATMENT32)
    counts[C_USING] += new == USING32
    counts[C_TREATMENT] += new == TREATMENT32
    counts[C_ABSTINENT] += new == ABSTINENT32


@numba.njit(cache=True)
def exact_pass(first, state, tolerance_mg, rates, g, settled_mg, fentanyl_part, limits,
               tolerance_rules, keys, counts):
    """`agent_week` for the agents `fast_pass` flagged UNDECIDED (first: the slice's first agent
    index; rates: float64 rates off and on MOUD; fentanyl_part float64); adds to
    counts[N_COUNTS]. The float32 `overdose_bounds` decide most overdoses; the float64 rule
    decides the draws they leave undecided and every death (its cause: u < p x
    fentanyl_part). Flags are looked for 64 agents at a time (eight uint64 words), and within
    a word each flagged byte is found by its bit (byte b of word w is agent 8 w + b: the
    little-endian order of every platform Numba compiles for): a byte-by-byte search cost as
    much as the flagged agents' work."""
    od_key, change_key = rng.halves(keys[0]), rng.halves(keys[1])
    nan = np.float32(np.nan)
    bound_rates = (np.float32(rates[0]), np.float32(rates[1])) if g == 2.0 else (nan, nan)
    n_words = state.size // 8
    words = state[:8 * n_words].view(np.uint64)
    w = 0
    while w + 8 <= n_words:
        if (words[w] | words[w + 1] | words[w + 2] | words[w + 3] | words[w + 4]
                | words[w + 5] | words[w + 6] | words[w + 7]) & UNDECIDED_BYTES:
            for v in range(w, w + 8):
                flags = words[v] & UNDECIDED_BYTES
                while flags:
                    lowest = flags & (~flags + ONE64)
                    exact_agent(8 * v + byte_of(lowest), first, state, tolerance_mg, rates, g,
                                bound_rates, settled_mg, fentanyl_part, limits, tolerance_rules,
                                od_key, change_key, counts)
                    flags ^= lowest
        w += 8
    for k in range(8 * w, state.size):
        if state[k] & UNDECIDED:
            exact_agent(k, first, state, tolerance_mg, rates, g, bound_rates, settled_mg,
                        fentanyl_part, limits, tolerance_rules, od_key, change_key, counts)


@numba.njit(cache=True)
def sum_chunks(part):
    """part[chunk, row, region] summed over chunks, in chunk order. A plain (not parallel)
    function on purpose: inside a parallel one each `counts += part[c]` becomes a parallel
    region of its own, and waking the thread pool once per chunk made 2 threads slower than 1."""
    counts = np.zeros(part.shape[1:], part.dtype)
    for c in range(part.shape[0]):
        counts += part[c]
    return counts


@numba.njit(cache=True)
def region_terms(fentanyl_share, fentanyl_mg, fentanyl_sigma, rules):
    """Per region: the expected dose^hazard_exponent over fentanyl and heroin doses (mg^g), the
    tolerance (mg) that users settle at, and the fentanyl part of the hazard (fentanyl doses'
    share of E[dose^g], 0-1; tolerance and the MOUD ratio cancel in it) (`UserRules` in;
    fentanyl_sigma: each region's log-sd of mg in a fentanyl dose)."""
    g, heroin_mg = rules.hazard_exponent, rules.heroin_dose_mg
    spread_h = math.exp(0.5 * g * (g - 1.0) * rules.sigma_heroin * rules.sigma_heroin)
    n_regions = fentanyl_share.size
    dose_g = np.empty(n_regions)
    settled = np.empty(n_regions)
    fentanyl_part = np.empty(n_regions)
    for r in range(n_regions):
        f = fentanyl_share[r]
        spread_f = math.exp(0.5 * g * (g - 1.0) * fentanyl_sigma[r] * fentanyl_sigma[r])
        fentanyl_g = f * spread_f * fentanyl_mg[r] ** g
        dose_g[r] = fentanyl_g + (1.0 - f) * spread_h * heroin_mg ** g
        fentanyl_part[r] = fentanyl_g / dose_g[r]
        mean_dose = f * fentanyl_mg[r] + (1.0 - f) * heroin_mg
        settled[r] = heroin_mg * (mean_dose / heroin_mg) ** rules.tolerance_elasticity
    return dose_g, settled, fentanyl_part


@numba.njit(cache=True)
def step_segment(lo, hi, counts, state, tolerance_mg, rates, g, settled_mg, fentanyl_part, limits,
                 tolerance_rules, keys, zero):
    """Agents lo..hi-1, all of one region, adding to counts[N_COUNTS] (rates: float64 weekly
    hazards at 1 mg tolerance off and on MOUD; zero: see `fast_pass`)."""
    state, tolerance_mg = state[lo:hi], tolerance_mg[lo:hi]
    # the first index as uint32: an int64 one keeps the hashes in 64-bit lanes
    moved = fast_pass(np.uint32(lo), state, tolerance_mg,
                      (bound_rate(rates[0], g), bound_rate(rates[1], g)), settled_mg, limits,
                      tolerance_rules, keys, zero)
    for row in range(N_COUNTS):
        counts[row] += moved[row]
    exact_pass(lo, state, tolerance_mg, rates, g, settled_mg, fentanyl_part, limits,
               tolerance_rules, keys, counts)


@numba.njit(inline="always")
def probability(p):
    """p clamped to [0, 1], NaN as 0 (never), as `threshold31` reads each alone."""
    return min(max(p, 0.0), 1.0) if p == p else 0.0


@numba.njit(cache=True)
def decision_limits(rules):
    """The week's ladder rungs (`UserRules` in) as `threshold31`s, in `agent_week`'s `limits`
    order; second rungs are cumulative, so each outcome keeps its probability: death f,
    MOUD after an overdose (1 - f) q; MOUD e, remission (1 - e) r; leaving MOUD l; relapse a x,
    recovery a (1 - x); starting s. Each probability is clamped first (an entry probability
    above 1 means everyone enters)."""
    f, q = probability(rules.fatality), probability(rules.treatment_after_overdose_prob)
    e, r = probability(rules.treatment_entry_prob), probability(rules.remission_prob)
    a, x = probability(rules.abstinence_end_prob), probability(rules.relapse_prob)
    return (rng.threshold31(f), rng.threshold31(f + (1.0 - f) * q),
            rng.threshold31(e), rng.threshold31(e + (1.0 - e) * r),
            rng.threshold31(probability(rules.treatment_exit_prob)),
            rng.threshold31(a * x), rng.threshold31(a),
            rng.threshold31(probability(rules.initiation_prob)))


def region_of(region_start: np.ndarray) -> np.ndarray:
    """Each slot's region, from where each region's slots begin."""
    return np.repeat(np.arange(region_start.size - 1), np.diff(region_start))


@numba.njit(cache=True)
def week_setup(n_slots, region_start, fentanyl_share, fentanyl_mg, fentanyl_sigma, rules):
    """Checks the slots' layout; returns per region the weekly overdose hazard at 1 mg tolerance
    (`rate_dose`, uses x hazard per use x E[dose^g]), the settled tolerance (mg) and the
    fentanyl part of the hazard, and zeroed partial counts[chunk, row, region]. A plain
    function: in `step_users` each array expression would be a parallel region of its own
    (slower to compile, and a thread wake-up each week)."""
    n_regions = region_start.size - 1
    if n_slots > MAX_SLOTS:
        raise ValueError("step_users: more agent slots than MAX_SLOTS")
    splits = region_start[0] == 0 and region_start[n_regions] == n_slots
    for r in range(n_regions):   # a loop: np.diff and np.any take seconds to compile
        splits = splits and region_start[r] <= region_start[r + 1]
    if not splits:
        raise ValueError("step_users: region_start does not split the slots into regions")
    dose_g, settled, fentanyl_part = region_terms(fentanyl_share, fentanyl_mg, fentanyl_sigma,
                                                  rules)
    n_chunks = (n_slots + CHUNK_AGENTS - 1) // CHUNK_AGENTS
    uses_x_hazard = rules.uses_per_week * rules.hazard_per_use
    return (uses_x_hazard * dose_g, settled, fentanyl_part,
            np.zeros((n_chunks, N_COUNTS, n_regions), np.int64))


@numba.njit(cache=True, parallel=True)
def step_users(state, tolerance_mg, region_start, fentanyl_share, fentanyl_mg, fentanyl_sigma,
               rules, od_key, change_key):
    """One week for every person-agent under `rules` (a `UserRules`), given each region's share
    of doses with fentanyl, their mean mg and its log-sd. Agents are stored by region: region r holds slots
    region_start[r]..region_start[r + 1] - 1. Returns counts[N_COUNTS, n_regions] (agents).

    Overdose hazard per use = hazard_per_use x (dose / tolerance)^exponent, averaged over a
    lognormal dose (mean-preserving, log-sd sigma), so stronger, more variable doses and lower
    tolerance raise risk; on MOUD it is `moud_overdose_ratio` times that. An overdose (u < p)
    is fentanyl's when u < p x the fentanyl part of the hazard (the same draw, no new one).
    Tolerance (float32 mg) moves toward heroin_mg x (mean dose / heroin_mg)^elasticity: it
    follows stronger supply only part of the way. `fatality` includes naloxone reversals.
    The chunks run on Numba's threads from `PARALLEL_MIN_SLOTS` slots, in turn below it.
    """
    g = rules.hazard_exponent
    rate_dose, settled, fentanyl_part, part = week_setup(
        state.size, region_start, fentanyl_share, fentanyl_mg, fentanyl_sigma, rules)
    limits = decision_limits(rules)
    tolerance_rules = (np.float32(rules.tolerance_adapt_rate),
                       np.float32(1.0 - rules.tolerance_loss),
                       np.float32(rules.tolerance_min_mg), np.float32(rules.heroin_dose_mg))
    keys = (od_key, change_key)   # split into halves per segment: a parallel loop
    zero = np.int32(region_start[0])   # 0 (checked in week_setup), unknown to the compiler
    if state.size < PARALLEL_MIN_SLOTS:
        for c in range(part.shape[0]):
            step_chunk(c, part[c], state, tolerance_mg, region_start, rate_dose, rules, g,
                       settled, fentanyl_part, limits, tolerance_rules, keys, zero)
    else:
        for c in numba.prange(part.shape[0]):     # cannot take a tuple of tuples
            step_chunk(c, part[c], state, tolerance_mg, region_start, rate_dose, rules, g,
                       settled, fentanyl_part, limits, tolerance_rules, keys, zero)
    return sum_chunks(part)


@numba.njit(inline="always")
def step_chunk(c, counts, state, tolerance_mg, region_start, rate_dose, rules, g, settled,
               fentanyl_part, limits, tolerance_rules, keys, zero):
    """Chunk c of `step_users`: its agents region by region, adding to counts[N_COUNTS,
    n_regions] (agents)."""
    lo = c * CHUNK_AGENTS
    hi = min(state.size, lo + CHUNK_AGENTS)
    for r in range(region_start.size - 1):
        first, last = max(lo, region_start[r]), min(hi, region_start[r + 1])
        if first < last:
            rates = (rate_dose[r], rate_dose[r] * rules.moud_overdose_ratio)
            step_segment(first, last, counts[:, r], state, tolerance_mg, rates, g,
                         np.float32(settled[r]), fentanyl_part[r], limits, tolerance_rules,
                         keys, zero)


def step_users_np(state, tolerance_mg, region_start, fentanyl_share, fentanyl_mg, fentanyl_sigma,
                  rules, od_key, change_key):
    """NumPy twin of `step_users`."""
    n_regions = region_start.size - 1
    region = region_of(region_start)
    idx = np.arange(state.size)
    od_draw, change = rng.bits31_np(od_key, idx), rng.bits31_np(change_key, idx)
    dose_g, settled, fentanyl_part = region_terms(fentanyl_share, fentanyl_mg, fentanyl_sigma,
                                                  rules)
    rate_dose = (rules.uses_per_week * rules.hazard_per_use * dose_g)[region]
    using, treated, abstinent = state == USING, state == TREATMENT, state == ABSTINENT
    idle = ~using & ~treated & ~abstinent
    tol = tolerance_mg.astype(np.float64)
    rate = np.where(treated, rate_dose * rules.moud_overdose_ratio, rate_dose)
    p = -np.expm1(-rate * tol ** -rules.hazard_exponent)
    u = od_draw * rng.TO_UNIT31
    overdose = (using | treated) & (u < p)
    (dies_t, dies_or_treated_t, enters_t, enters_or_remits_t, leaves_t, relapses_t, ends_t,
     starts_t) = decision_limits(rules)
    dies = overdose & (change <= dies_t)
    fentanyl_deaths = dies & (u < p * fentanyl_part[region])
    entered = using & np.where(overdose, ~dies & (change <= dies_or_treated_t),
                               change <= enters_t)
    remits = using & ~overdose & ~entered & (change <= enters_or_remits_t)
    leaves = treated & ~overdose & (change <= leaves_t)
    relapses = abstinent & (change <= relapses_t)
    recovers = abstinent & ~relapses & (change <= ends_t)
    starts = idle & (change <= starts_t)
    tol32 = tolerance_mg.copy()
    min_mg = np.float32(rules.tolerance_min_mg)
    adapted = np.maximum(min_mg, tol32 + np.float32(rules.tolerance_adapt_rate)
                         * (settled.astype(np.float32)[region] - tol32))
    kept = np.maximum(min_mg, tol32 * np.float32(1.0 - rules.tolerance_loss))
    heroin_mg = np.float32(rules.heroin_dose_mg)
    tolerance_mg[:] = np.where(using, adapted, np.where(abstinent, kept,
                                                        np.where(starts, heroin_mg, tol32)))
    state[relapses | starts] = USING
    state[entered] = TREATMENT
    state[leaves] = ABSTINENT
    state[dies] = DEAD
    state[remits | recovers] = RECOVERED
    counts = np.zeros((N_COUNTS, n_regions), np.int64)
    for row, mask in ((C_DEATHS, dies), (C_OVERDOSES, overdose), (C_ENTERED, entered),
                      (C_USING, state == USING), (C_TREATMENT, state == TREATMENT),
                      (C_STARTED, starts), (C_SYNTHETIC, fentanyl_deaths),
                      (C_ABSTINENT, state == ABSTINENT)):
        counts[row] = np.bincount(region[mask], minlength=n_regions)
    return counts


@numba.njit(cache=True)
def tally(counts, people_per_agent):
    """What `Users.week` keeps of the week's counts[row, region] (agents): each row summed over
    regions (agents), the people using in each region and in all, and the people on MOUD and
    abstinent (people: agents x people_per_agent). One call right after the users kernel, in
    place of five NumPy calls that run with the kernel's arrays just through the cache."""
    n_rows, n_regions = counts.shape
    totals = np.zeros(n_rows, np.int64)
    for row in range(n_rows):
        for r in range(n_regions):
            totals[row] += counts[row, r]
    people_using = np.empty(n_regions)
    using_total = 0.0
    for r in range(n_regions):   # in order: NumPy's sum of fewer than 8 values
        people_using[r] = counts[C_USING, r] * people_per_agent
        using_total += people_using[r]
    return (totals, people_using, using_total, totals[C_TREATMENT] * people_per_agent,
            totals[C_ABSTINENT] * people_per_agent)


def tally_np(counts, people_per_agent):
    """NumPy twin of `tally`."""
    totals = counts.sum(axis=1)
    people_using = counts[C_USING] * people_per_agent
    return (totals, people_using, people_using.sum(), totals[C_TREATMENT] * people_per_agent,
            totals[C_ABSTINENT] * people_per_agent)


@numba.njit(cache=True)
def populate(key, first_index, n_slots, n_using, n_treated, cum_share):
    """The population's slots (`sim.actors.users.Users.create`): slot i's region is the first
    r with u_i < cum_share[r] (u_i: uniform i + first_index under `key`; the last region past
    the end), the first n_using slots drawn are using, the next n_treated on MOUD, the rest
    empty; then stored by region, in draw order within each (a stable counting sort). Returns
    (state uint8, region uint8)."""
    last = cum_share.size - 1
    drawn = np.empty(n_slots, np.uint8)
    count = np.zeros(cum_share.size + 1, np.int64)
    for i in range(n_slots):
        u = rng.uniform(key, first_index + i)
        r = 0
        for j in range(last):          # cum_share is sorted: no branch to mispredict
            r += cum_share[j] <= u
        drawn[i] = r
        count[r + 1] += 1
    for r in range(cum_share.size):
        count[r + 1] += count[r]
    state = np.empty(n_slots, np.uint8)
    region = np.empty(n_slots, np.uint8)
    for i in range(n_slots):
        r = drawn[i]
        at = count[r]
        count[r] += 1
        region[at] = r
        state[at] = USING if i < n_using else (TREATMENT if i < n_using + n_treated else EMPTY)
    return state, region


def populate_np(key, first_index, n_slots, n_using, n_treated, cum_share):
    """NumPy twin of `populate`."""
    u = rng.uniforms_np(key, np.arange(n_slots) + first_index)
    region = np.minimum(np.searchsorted(cum_share, u, "right"), cum_share.size - 1)
    region = region.astype(np.uint8)
    state = np.full(n_slots, EMPTY, np.uint8)
    state[:n_using] = USING
    state[n_using:n_using + n_treated] = TREATMENT
    by_region = np.argsort(region, kind="stable")
    return state[by_region], region[by_region]
