"""Hot loops: `@numba.njit(cache=True)` functions over NumPy arrays, each with a plain NumPy twin
(`*_np`) that the tests hold them to."""

import os

# Parallel kernels run on Numba's OpenMP pool. Idle OpenMP threads spin by default, which on a
# busy machine (other processes, ensemble workers) slowed the users kernel 40-fold; passive
# threads sleep instead. Set before the pool starts; a value in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
