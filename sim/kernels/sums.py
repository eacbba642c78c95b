"""Sums that round exactly as NumPy's do, for kernels that take over NumPy code without moving
any result by a bit."""

import numba
import numpy as np

BLOCK = 128   # NumPy's PW_BLOCKSIZE: below it, eight running sums; above, halves


@numba.njit(cache=True)
def _block_sum(a, start, n):
    """NumPy's pairwise sum of a[start:start + n] for n <= BLOCK, in a's precision."""
    if n < 8:
        total = a.dtype.type(0.0)
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total


@numba.njit(cache=True)
def pairwise_sum(a):
    """`a.sum()` of a 1-d float64 or float32 array as NumPy computes it (pairwise: blocks of at
    most 128 summed in eight running sums of a's precision, blocks halved at multiples of 8 and
    the halves added), so the result is the same to the bit."""
    return span_sum(a, 0, a.size)


@numba.njit(cache=True)
def span_sum(a, start, n):
    """`pairwise_sum(a[start:start + n])` without making the slice (cheaper in a loop over many
    short spans). An explicit stack of (start, length, partial) replaces NumPy's recursion."""
    if n <= BLOCK:
        return _block_sum(a, start, n)
    # post-order walk of the halving tree: each node's sum is its left half's plus its right's
    starts, lengths = np.empty(128, np.int64), np.empty(128, np.int64)
    stage, left = np.zeros(128, np.int64), np.zeros(128, a.dtype)
    starts[0], lengths[0], depth, result = start, n, 0, left[0]
    while depth >= 0:
        start, length = starts[depth], lengths[depth]
        half = length // 2
        half -= half % 8
        if length <= BLOCK:
            result = _block_sum(a, start, length)
            depth -= 1
        elif stage[depth] == 0:          # go left
            stage[depth] = 1
            depth += 1
            starts[depth], lengths[depth], stage[depth] = start, half, 0
            continue
        elif stage[depth] == 1:          # left done: keep it, go right
            left[depth] = result
            stage[depth] = 2
            depth += 1
            starts[depth], lengths[depth], stage[depth] = start + half, length - half, 0
            continue
        else:                            # both done
            result = left[depth] + result
            depth -= 1
    return result


def pairwise_sum_np(a):
    """NumPy twin of `pairwise_sum`."""
    return np.sum(a)
