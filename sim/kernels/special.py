"""SciPy's special functions inside kernels: the very compiled code of SciPy's ufuncs
(`scipy.special.cython_special` exports it), so a kernel's value is SciPy's to the bit. Numba
calls it by a symbol bound to its address when this module is imported, which keeps the
kernels that call it cacheable; with NUMBA_DISABLE_JIT=1 SciPy's ufunc stands in."""

import numba
from llvmlite import binding
from numba import types
from numba.extending import get_cython_function_address
from scipy import special

if numba.config.DISABLE_JIT:
    def _ndtr(x, skip_dispatch):
        """SciPy's ufunc, as the kernels run as Python."""
        return special.ndtr(x)
else:
    # the float64 version; its C signature is double (double, int __pyx_skip_dispatch)
    binding.add_symbol("sim_scipy_ndtr", get_cython_function_address(
        "scipy.special.cython_special", "__pyx_fuse_1ndtr"))
    _ndtr = types.ExternalFunction("sim_scipy_ndtr", types.float64(types.float64, types.intc))


@numba.njit(cache=True)
def ndtr(x):
    """SciPy's `ndtr` of one float64: the standard normal CDF at x."""
    return _ndtr(x, 1)   # 1: no look-up of a Python override (a module's function has none)
