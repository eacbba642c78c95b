"""Hot loops: `@numba.njit(cache=True)` functions over NumPy arrays, each with a plain NumPy twin
(`*_np`) that the tests hold them to."""
