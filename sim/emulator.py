"""A Gaussian-process emulator of the model's calibration outputs and an MCMC sampler of the
posterior it implies: the numerical core of `run.py calibrate --method posterior`
(`sim.posterior` runs the model and writes the outputs).

Parameters live on the unit cube (each prior is uniform over its [low, high]). An output is the
log of a target's yearly model median over the replicates; each gets its own Gaussian process
(scikit-learn: constant x anisotropic Matern 5/2 + white noise for the replicates' noise,
hyperparameters by maximum marginal likelihood). The log-likelihood of a point sums over target
years the normal log density of the observed log value around the emulator's mean, with
variance the observation error's plus the emulator's own (so the posterior stays wide where
the emulator is unsure). emcee's ensemble sampler (differential-evolution moves, which follow
the ridges that a product of two parameters makes) samples it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

MATERN_NU = 2.5
LENGTH_BOUNDS = (1e-2, 1e2)        # unit-cube lengths: from 1% of a range to flat
NOISE_BOUNDS = (1e-8, 1e3)         # white noise (a component's score units)
WALKERS_PER_DIMENSION = 4
BURN_SHARE = 0.5                   # of the steps, discarded as burn-in
VARIANCE_KEPT = 0.999              # of the standardised outputs, by the principal components


def _gp_modules():
    try:
        import emcee
        from sklearn import gaussian_process
    except ImportError:
        from sim.validation import ScenarioError

        raise ScenarioError("calibrate --method posterior needs scikit-learn and emcee, which "
                            "are not installed. Install them with:\n    pip install -e "
                            "'.[posterior]'\n(from the repository's folder)") from None
    return gaussian_process, emcee


class Emulator:
    """Gaussian processes over the unit-cube points `x` (n x d) of the outputs `y` (n points x k
    outputs), through their principal components: the outputs, standardised, are projected on
    the fewest components that hold `VARIANCE_KEPT` of their variance (a target's years move
    together, so a few do), one Gaussian process each; what the dropped components held is
    added to every prediction's variance. `seed` fixes the optimiser's restarts."""

    def __init__(self, x: np.ndarray, y: np.ndarray, seed: int, restarts: int = 1):
        gaussian_process, _ = _gp_modules()
        kernels = gaussian_process.kernels
        dims = x.shape[1]
        self.centre, self.scale = y.mean(axis=0), np.maximum(y.std(axis=0), 1e-9)
        z = (y - self.centre) / self.scale
        _, singular, rows = np.linalg.svd(z, full_matrices=False)
        share = np.cumsum(singular ** 2) / max(np.sum(singular ** 2), 1e-300)
        kept = int(np.searchsorted(share, VARIANCE_KEPT) + 1)
        self.components = rows[:kept]                                  # kept x k
        scores = z @ self.components.T
        self.residual = np.mean((z - scores @ self.components) ** 2, axis=0)
        self.models = []
        for column in scores.T:
            spread = max(float(column.var()), 1e-6)
            kernel = (kernels.ConstantKernel(spread, (1e-6, 1e3))
                      * kernels.Matern(np.full(dims, 0.5), LENGTH_BOUNDS, nu=MATERN_NU)
                      + kernels.WhiteKernel(1e-3 * spread, NOISE_BOUNDS))
            model = gaussian_process.GaussianProcessRegressor(
                kernel, n_restarts_optimizer=restarts, random_state=seed)   # scores: mean 0
            with warnings.catch_warnings():   # a length at its bound: the output ignores it
                warnings.simplefilter("ignore")
                model.fit(x, column)
            self.models.append(model)

    def predict(self, x: np.ndarray, noise: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (m points x k outputs) of each output; the variance is the
        emulator's uncertainty about the noise-free output, plus the replicates' noise when
        `noise` (for predicting a new set of runs)."""
        means, variances = [], []
        for model in self.models:
            mean, std = model.predict(x, return_std=True)
            white = 0.0 if noise else model.kernel_.k2.noise_level
            means.append(mean)
            variances.append(np.maximum(std ** 2 - white, 1e-12))
        mean = np.column_stack(means) @ self.components
        variance = np.column_stack(variances) @ self.components ** 2 + self.residual
        return mean * self.scale + self.centre, variance * self.scale ** 2

    def describe(self) -> dict:
        return {"components": len(self.models),
                "kernels": [str(m.kernel_) for m in self.models]}


@dataclass(frozen=True)
class Likelihood:
    """Observed log values (k outputs) and the standard deviation of each one's error."""

    observed: np.ndarray
    error_sd: np.ndarray

    def of_outputs(self, outputs: np.ndarray, variance: np.ndarray | float = 0.0) -> np.ndarray:
        """Log-likelihood of points (rows of log outputs), with an added output variance."""
        total = self.error_sd ** 2 + variance
        return -0.5 * np.sum((outputs - self.observed) ** 2 / total + np.log(2 * np.pi * total),
                             axis=-1)


def emulated_log_posterior(emulator: Emulator, likelihood: Likelihood):
    """Vectorised log posterior over unit-cube points (uniform priors: -inf outside)."""

    def log_prob(points: np.ndarray) -> np.ndarray:
        points = np.atleast_2d(points)
        inside = np.all((points >= 0) & (points <= 1), axis=1)
        out = np.full(points.shape[0], -np.inf)
        if inside.any():
            mean, variance = emulator.predict(points[inside])
            out[inside] = likelihood.of_outputs(mean, variance)
        return out

    return log_prob


@dataclass
class Chain:
    """Samples after burn-in (steps x walkers x d) and the sampler's diagnostics."""

    samples: np.ndarray
    acceptance: float
    autocorr_steps: np.ndarray     # integrated autocorrelation time per parameter (steps)

    @property
    def flat(self) -> np.ndarray:
        return self.samples.reshape(-1, self.samples.shape[-1])

    @property
    def ess(self) -> np.ndarray:
        """Effective sample size per parameter: samples / autocorrelation time (in draws)."""
        steps, walkers, _ = self.samples.shape
        return steps * walkers / np.maximum(self.autocorr_steps, 1.0)

    def thinned(self, n: int) -> np.ndarray:
        """`n` samples: every walker at steps spread evenly over the chain (consecutive steps
        of one walker are correlated; walkers at steps far apart are nearly independent)."""
        steps, walkers, _ = self.samples.shape
        chosen = np.linspace(0, steps - 1, min(steps, -(-n // walkers))).round().astype(int)
        return self.samples[chosen].reshape(-1, self.samples.shape[-1])[:n]


def sample(log_prob, start: np.ndarray, steps: int, seed: int) -> Chain:
    """emcee from `start` (walkers x d, inside the cube), `steps` steps, the first half burn-in."""
    _, emcee = _gp_modules()
    walkers, dims = start.shape
    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, dims, log_prob, vectorize=True, moves=moves)
    sampler.random_state = np.random.RandomState(seed % 2**32).get_state()
    sampler.run_mcmc(start, steps, progress=False)
    burn = int(steps * BURN_SHARE)
    tau = sampler.get_autocorr_time(discard=burn, quiet=True, tol=0)
    return Chain(sampler.get_chain(discard=burn), float(np.mean(sampler.acceptance_fraction)),
                 np.asarray(tau, float))


def walkers_start(points: np.ndarray, log_lik: np.ndarray, seed: int) -> np.ndarray:
    """Initial walkers: the design points of highest likelihood (at least 4 per dimension and
    32), nudged a little so no two coincide."""
    walkers = max(32, WALKERS_PER_DIMENSION * points.shape[1])
    best = points[np.argsort(-log_lik, kind="stable")[:walkers]]
    best = best[np.arange(walkers) % len(best)]
    jitter = np.random.default_rng(seed).normal(0, 0.01, best.shape)
    return np.clip(best + jitter, 0.0, 1.0)
