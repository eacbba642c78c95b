"""Regulators' clocks per chemical: national adoption of UN controls, the UN's evidence on
prominent precursors and its watch on the trade (`sim.actors.regulators`)."""

import numba
import numpy as np

from sim.kernels.sums import pairwise_sum


@numba.njit(cache=True)
def adoption_clocks(progress, weeks_pending, un_controlled, controlled_here, step):
    """Per product, in place: while the UN controls it and this country does not, the adoption
    clock advances by `step` (1 / lag) and the weeks pending by one; otherwise both are 0.
    Returns whether any clock has reached 1 (a control is due)."""
    due = False
    for c in range(progress.size):
        if un_controlled[c] and not controlled_here[c]:
            progress[c] += step
            weeks_pending[c] += 1.0
        else:
            progress[c] = weeks_pending[c] = 0.0
        due = due or progress[c] >= 1.0
    return due


def adoption_clocks_np(progress, weeks_pending, un_controlled, controlled_here, step):
    """NumPy twin of `adoption_clocks`."""
    pending = un_controlled & ~controlled_here
    progress[:] = np.where(pending, progress + step, 0.0)
    weeks_pending[:] = np.where(pending, weeks_pending + 1, 0.0)
    return bool((progress >= 1.0).any())


@numba.njit(cache=True)
def adoption_clocks_rows(progress, weeks_pending, controlled, un, countries, lag_weeks):
    """`adoption_clocks` of several countries at once: row r of progress and weeks_pending is
    countries[r]'s (controlled[country, product]; row `un` the UN's), advanced by 1 /
    lag_weeks[r] (1 for a lag of 0). Returns whether each row has a control due."""
    due = np.zeros(countries.size, np.bool_)
    for r in range(countries.size):
        step = 1.0 / lag_weeks[r] if lag_weeks[r] > 0 else 1.0
        due[r] = adoption_clocks(progress[r], weeks_pending[r], controlled[un],
                                 controlled[countries[r]], step)
    return due


def adoption_clocks_rows_np(progress, weeks_pending, controlled, un, countries, lag_weeks):
    """NumPy twin of `adoption_clocks_rows`."""
    steps = np.where(lag_weeks > 0, 1.0 / np.where(lag_weeks > 0, lag_weeks, 1.0), 1.0)
    return np.array([adoption_clocks_np(progress[r], weeks_pending[r], controlled[un],
                                        controlled[countries[r]], steps[r])
                     for r in range(countries.size)], bool)


@numba.njit(cache=True)
def un_evidence(prominent_weeks, seizure_weeks, share_ema, seized_kg, threshold, seizure_kg,
                lag_weeks, un_controlled):
    """Per precursor, in place: weeks in a row its share of the trade (share_ema) is above
    `threshold`, and the extra weeks its seizures add (seized_kg / seizure_kg a week), both 0
    once it falls below. Returns which precursors not yet UN-controlled have evidence of
    lag_weeks or more (bool per precursor)."""
    due = np.zeros(share_ema.size, np.bool_)
    for c in range(share_ema.size):
        if share_ema[c] > threshold:
            prominent_weeks[c] += 1.0
            seizure_weeks[c] += seized_kg[c] / seizure_kg
        else:
            prominent_weeks[c] = seizure_weeks[c] = 0.0
        due[c] = prominent_weeks[c] + seizure_weeks[c] >= lag_weeks and not un_controlled[c]
    return due


def un_evidence_np(prominent_weeks, seizure_weeks, share_ema, seized_kg, threshold, seizure_kg,
                   lag_weeks, un_controlled):
    """NumPy twin of `un_evidence`."""
    prominent = share_ema > threshold
    prominent_weeks[:] = np.where(prominent, prominent_weeks + 1, 0.0)
    seizure_weeks[:] = np.where(prominent, seizure_weeks + seized_kg / seizure_kg, 0.0)
    return (prominent_weeks + seizure_weeks >= lag_weeks) & ~un_controlled


@numba.njit(cache=True)
def evidence_and_clocks(prominent_weeks, seizure_weeks, share_ema, seized_kg, threshold,
                        seizure_kg, detection_lag_weeks, listing, progress, weeks_pending,
                        controlled, un, countries, lag_weeks):
    """The UN's `un_evidence` (un_controlled: row `un` of controlled, fentanyl left out), then
    the national clocks' `adoption_clocks_rows`, unless a precursor is due and `listing` (the
    UN lists it first: the clocks must see it). Returns (UN due per precursor, clocks due per
    row, whether the clocks ran)."""
    due = un_evidence(prominent_weeks, seizure_weeks, share_ema, seized_kg, threshold,
                      seizure_kg, detection_lag_weeks, controlled[un, :-1])
    if listing and due.any():
        return due, np.zeros(countries.size, np.bool_), False
    return due, adoption_clocks_rows(progress, weeks_pending, controlled, un, countries,
                                     lag_weeks), True


def evidence_and_clocks_np(prominent_weeks, seizure_weeks, share_ema, seized_kg, threshold,
                           seizure_kg, detection_lag_weeks, listing, progress, weeks_pending,
                           controlled, un, countries, lag_weeks):
    """NumPy twin of `evidence_and_clocks`."""
    due = un_evidence_np(prominent_weeks, seizure_weeks, share_ema, seized_kg, threshold,
                         seizure_kg, detection_lag_weeks, controlled[un, :-1])
    if listing and due.any():
        return due, np.zeros(countries.size, bool), False
    return due, adoption_clocks_rows_np(progress, weeks_pending, controlled, un, countries,
                                        lag_weeks), True


@numba.njit(cache=True)
def watch(share_ema, shipped_kg, finished, rate):
    """Exponential average (rate a week, in place) of each chemical's share of the precursor kg
    shipped (finished substances count as 0); no trade leaves shares of 0."""
    by_chemical = np.empty(share_ema.size)
    for c in range(share_ema.size):
        by_chemical[c] = 0.0 if finished[c] else shipped_kg[c]
    total = pairwise_sum(by_chemical)
    for c in range(share_ema.size):
        share = by_chemical[c] / total if total > 0 else by_chemical[c]
        share_ema[c] += rate * (share - share_ema[c])


def watch_np(share_ema, shipped_kg, finished, rate):
    """NumPy twin of `watch`."""
    by_chemical = np.where(finished, 0.0, shipped_kg)
    share = by_chemical / by_chemical.sum() if by_chemical.sum() > 0 else by_chemical
    share_ema += rate * (share - share_ema)


@numba.njit(cache=True)
def first_uncontrolled(controlled, candidate):
    """Per country (rows of controlled[country, product]): the first candidate product it does
    not control (int16; -1 if none)."""
    out = np.full(controlled.shape[0], -1, np.int16)
    for country in range(controlled.shape[0]):
        for c in range(candidate.size):
            if candidate[c] and not controlled[country, c]:
                out[country] = c
                break
    return out


def first_uncontrolled_np(controlled, candidate):
    """NumPy twin of `first_uncontrolled`."""
    ok = candidate[None, :] & ~controlled[:, : candidate.size]
    return np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1).astype(np.int16)
