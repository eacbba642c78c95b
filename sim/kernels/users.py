"""People who use illicit opioids: overdose, death, treatment, relapse, remission, initiation.

One entry per person-agent (see `sim.populations.Users`); the market hands each region the
share of doses that contain fentanyl and their mean fentanyl content.
"""

import math

import numba
import numpy as np

from sim.kernels.rng import bits, threshold, uniform, uniforms_np

EMPTY, USING, TREATMENT, DEAD, RECOVERED = 0, 1, 2, 3, 4
# rows of the counts the kernel returns, per region
C_DEATHS, C_OVERDOSES, C_ENTERED, C_USING, C_TREATMENT, C_STARTED = 0, 1, 2, 3, 4, 5
N_COUNTS = 6


# Agents per chunk of the parallel loop, small enough for a chunk's index lists to stay in cache.
# Fixed, so each chunk's partial counts (integers, added in chunk order) and every agent's draws
# are the same on any number of threads.
CHUNK_AGENTS = 4_096
# Most agent slots a population may have: agent indices are int32 (the parameter bounds allow
# at most 2e8 slots: users.agents x users.slot_headroom).
MAX_SLOTS = 2**31 - 1
# Relative slack of the cheap bounds in `overdoses`, far above the rounding of pow and expm1.
BOUND_SLACK = 1e-9


@numba.njit(cache=True)
def overdoses(u, rate, dose_g, tol, g):
    """Whether a draw u gives an overdose: u < -expm1(-rate x dose_g x tol^-g), decided exactly as
    that expression evaluates. With h the exponent, 1 - e^-h lies in [h - h^2/2, h]; pow and expm1
    run only when u falls in that band (h^2/2 wide, about one draw in a million), and for
    g = 2 the bounds take 1 / tol^2 instead of pow. Branch-light and 4x cheaper per agent."""
    inverse = 1.0 / (tol * tol) if g == 2.0 else tol ** -g
    h = rate * dose_g * inverse
    if u >= h * (1.0 + BOUND_SLACK):
        return False
    if u < (h - 0.5 * h * h) * (1.0 - BOUND_SLACK):
        return True
    return u < -math.expm1(-rate * dose_g * tol ** -g)


@numba.njit(cache=True)
def group_by_state(state, lo, hi):
    """Agents lo..hi-1 split by state, without a branch per agent: returns index (int32, see
    MAX_SLOTS), whose rows 0, 1 and 2 start with the agents using, in treatment and idle, and
    how many of each. Handling each group in its own loop spares the mispredicted branch on a
    mixed population's states; draws are keyed on the agent, so the order changes no result."""
    index = np.empty((3, hi - lo), np.int32)
    n_using = n_treated = n_idle = 0
    for i in range(lo, hi):
        s = state[i]
        index[0, n_using] = index[1, n_treated] = index[2, n_idle] = i
        n_using += s == USING
        n_treated += s == TREATMENT
        n_idle += (s != USING) & (s != TREATMENT)
    return index, n_using, n_treated, n_idle


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
def region_terms(fentanyl_share, fentanyl_mg, heroin_mg, hazard_exponent, sigma_fentanyl,
                 sigma_heroin, tolerance_elasticity):
    """Per region: the expected dose^hazard_exponent over fentanyl and heroin doses (mg^g), and
    the tolerance (mg) that users settle at."""
    g = hazard_exponent
    spread_f = math.exp(0.5 * g * (g - 1.0) * sigma_fentanyl * sigma_fentanyl)
    spread_h = math.exp(0.5 * g * (g - 1.0) * sigma_heroin * sigma_heroin)
    n_regions = fentanyl_share.size
    dose_g = np.empty(n_regions)
    settled = np.empty(n_regions)
    for r in range(n_regions):
        f = fentanyl_share[r]
        dose_g[r] = f * spread_f * fentanyl_mg[r] ** g + (1.0 - f) * spread_h * heroin_mg ** g
        mean_dose = f * fentanyl_mg[r] + (1.0 - f) * heroin_mg
        settled[r] = heroin_mg * (mean_dose / heroin_mg) ** tolerance_elasticity
    return dose_g, settled


@numba.njit(cache=True)
def step_chunk(lo, hi, counts, state, region, tolerance_mg, dose_g, settled, rate, g, limits,
               tolerance_rules, keys):
    """`step_users` for agents lo..hi-1, adding to counts[N_COUNTS, n_regions]. `limits` are
    the `threshold`s of (death, treatment after an overdose, treatment entry, remission,
    treatment exit, relapse, initiation); `tolerance_rules` is (adapt rate, loss in treatment,
    minimum mg, heroin mg); `keys` the streams of (overdose, death, treatment, exit,
    initiation)."""
    dies, treated_after_overdose, enters, remits, leaves, relapses, starts = limits
    adapt_rate, loss, min_mg, heroin_mg = tolerance_rules
    od_key, death_key, treat_key, exit_key, init_key = keys
    mine, n_using, n_treated, n_idle = group_by_state(state, lo, hi)
    for k in range(n_using):
        i = mine[0, k]
        r, tol = region[i], float(tolerance_mg[i])
        tolerance_mg[i] = max(min_mg, tol + adapt_rate * (settled[r] - tol))
        if overdoses(uniform(od_key, i), rate, dose_g[r], tol, g):
            counts[C_OVERDOSES, r] += 1
            if bits(death_key, i) < dies:
                state[i] = DEAD
                counts[C_DEATHS, r] += 1
            elif bits(treat_key, i) < treated_after_overdose:
                state[i] = TREATMENT
                counts[C_ENTERED, r] += 1
        elif bits(treat_key, i) < enters:
            state[i] = TREATMENT
            counts[C_ENTERED, r] += 1
        elif bits(exit_key, i) < remits:
            state[i] = RECOVERED
        counts[C_USING, r] += state[i] == USING
        counts[C_TREATMENT, r] += state[i] == TREATMENT
    for k in range(n_treated):
        i = mine[1, k]
        r = region[i]
        tolerance_mg[i] = max(min_mg, float(tolerance_mg[i]) * (1.0 - loss))
        if bits(exit_key, i) < leaves:
            state[i] = USING if bits(treat_key, i) < relapses else RECOVERED
        counts[C_USING, r] += state[i] == USING
        counts[C_TREATMENT, r] += state[i] == TREATMENT
    for k in range(n_idle):
        i = mine[2, k]
        if bits(init_key, i) < starts:
            state[i] = USING
            tolerance_mg[i] = heroin_mg
            counts[C_STARTED, region[i]] += 1
            counts[C_USING, region[i]] += 1


@numba.njit(cache=True, parallel=True)
def step_users(state, region, tolerance_mg, fentanyl_share, fentanyl_mg, heroin_mg,
               uses_per_week, hazard_per_use, hazard_exponent, sigma_fentanyl, sigma_heroin,
               fatality, treatment_entry_prob, treatment_after_overdose_prob,
               treatment_exit_prob, relapse_prob, remission_prob, initiation_prob,
               tolerance_adapt_rate, tolerance_elasticity, tolerance_loss, tolerance_min_mg,
               n_regions, od_key, death_key, treat_key, exit_key, init_key):
    """One week for every person-agent. Returns counts[N_COUNTS, n_regions] (agents).

    Overdose hazard per use = hazard_per_use x (dose / tolerance)^exponent, averaged over a
    lognormal dose (mean-preserving, log-sd sigma), so stronger, more variable doses and lower
    tolerance raise risk. Tolerance moves toward heroin_mg x (mean dose / heroin_mg)^elasticity:
    it follows stronger supply only part of the way. `fatality` includes naloxone reversals.
    """
    if state.size > MAX_SLOTS:
        raise ValueError("step_users: more agent slots than MAX_SLOTS")
    g = hazard_exponent
    dose_g, settled = region_terms(fentanyl_share, fentanyl_mg, heroin_mg, g, sigma_fentanyl,
                                   sigma_heroin, tolerance_elasticity)
    rate = uses_per_week * hazard_per_use
    limits = (threshold(fatality), threshold(treatment_after_overdose_prob),
              threshold(treatment_entry_prob), threshold(remission_prob),
              threshold(treatment_exit_prob), threshold(relapse_prob), threshold(initiation_prob))
    tolerance_rules = (tolerance_adapt_rate, tolerance_loss, tolerance_min_mg, heroin_mg)
    keys = (od_key, death_key, treat_key, exit_key, init_key)
    n_chunks = (state.size + CHUNK_AGENTS - 1) // CHUNK_AGENTS
    part = np.zeros((n_chunks, N_COUNTS, n_regions), np.int64)
    for c in numba.prange(n_chunks):
        lo = c * CHUNK_AGENTS
        step_chunk(lo, min(state.size, lo + CHUNK_AGENTS), part[c], state, region, tolerance_mg,
                   dose_g, settled, rate, g, limits, tolerance_rules, keys)
    return sum_chunks(part)


def step_users_np(state, region, tolerance_mg, fentanyl_share, fentanyl_mg, heroin_mg,
                  uses_per_week, hazard_per_use, hazard_exponent, sigma_fentanyl, sigma_heroin,
                  fatality, treatment_entry_prob, treatment_after_overdose_prob,
                  treatment_exit_prob, relapse_prob, remission_prob, initiation_prob,
                  tolerance_adapt_rate, tolerance_elasticity, tolerance_loss, tolerance_min_mg,
                  n_regions, od_key, death_key, treat_key, exit_key, init_key):
    """NumPy twin of `step_users`."""
    idx = np.arange(state.size)
    g = hazard_exponent
    u_od, u_death = uniforms_np(od_key, idx), uniforms_np(death_key, idx)
    u_treat, u_exit = uniforms_np(treat_key, idx), uniforms_np(exit_key, idx)
    u_init = uniforms_np(init_key, idx)
    using, treated = state == USING, state == TREATMENT
    idle = ~using & ~treated
    f, fmg = fentanyl_share[region], fentanyl_mg[region]
    tol = tolerance_mg.astype(np.float64)
    dose_g = (f * np.exp(0.5 * g * (g - 1) * sigma_fentanyl**2) * fmg**g
              + (1 - f) * np.exp(0.5 * g * (g - 1) * sigma_heroin**2) * heroin_mg**g)
    p_overdose = -np.expm1(-uses_per_week * hazard_per_use * dose_g * tol**-g)
    overdose = using & (u_od < p_overdose)
    dies = overdose & (u_death < fatality)
    od_treat = overdose & ~dies & (u_treat < treatment_after_overdose_prob)
    enters = using & ~overdose & (u_treat < treatment_entry_prob)
    remits = using & ~overdose & ~enters & (u_exit < remission_prob)
    leaves = treated & (u_exit < treatment_exit_prob)
    starts = idle & (u_init < initiation_prob)
    settled = heroin_mg * ((f * fmg + (1 - f) * heroin_mg) / heroin_mg) ** tolerance_elasticity
    new_tol = np.where(using, np.maximum(tolerance_min_mg,
                                         tol + tolerance_adapt_rate * (settled - tol)), tol)
    new_tol = np.where(treated, np.maximum(tolerance_min_mg, tol * (1 - tolerance_loss)), new_tol)
    new_tol = np.where(starts, heroin_mg, new_tol)
    tolerance_mg[:] = new_tol
    state[dies] = DEAD
    state[od_treat | enters] = TREATMENT
    state[remits] = RECOVERED
    state[leaves] = np.where(u_treat[leaves] < relapse_prob, USING, RECOVERED)
    state[starts] = USING
    counts = np.zeros((N_COUNTS, n_regions), np.int64)
    for row, mask in ((C_DEATHS, dies), (C_OVERDOSES, overdose), (C_ENTERED, od_treat | enters),
                      (C_USING, state == USING), (C_TREATMENT, state == TREATMENT),
                      (C_STARTED, starts)):
        counts[row] = np.bincount(region[mask], minlength=n_regions)
    return counts
