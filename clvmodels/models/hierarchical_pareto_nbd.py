r"""Individual-level Pareto/NBD given each customer's own rates (Abe 2009's first stage).

Abe (2009) [1]_ keeps Pareto/NBD's individual assumptions (Poisson purchases with rate
:math:`\lambda_i` while alive, an exponential lifetime :math:`\tau_i` with rate :math:`\mu_i`)
but replaces the two independent gamma mixtures by a bivariate lognormal,

.. math:: (\log\lambda_i, \log\mu_i)^\top \sim \mathcal N(B^\top z_i, \Sigma),

so purchase and dropout rates may correlate and customer covariates :math:`z_i` shift both.
With no closed-form marginal, the rates are latent parameters sampled per customer
(:class:`clvmodels.hierarchical.HierarchicalParetoNBD`). This module holds what is written
once against the ``xp`` backend for that: the likelihood of :math:`(x, t_x, T)` given
:math:`(\lambda, \mu)`, with the lifetime integrated out analytically (no discrete alive
indicator, so NUTS applies), and the predictions given the rates. Each function takes the
log-rates, the scale NUTS works on.

.. math::

    L(\lambda, \mu \mid x, t_x, T) = \lambda^x e^{-(\lambda+\mu)T}
        + \int_{t_x}^{T} \lambda^x e^{-\lambda\tau} \mu e^{-\mu\tau}\, d\tau
      = \frac{\lambda^x}{\lambda+\mu}\left[\mu e^{-(\lambda+\mu)t_x} + \lambda e^{-(\lambda+\mu)T}\right]

(Abe 2009, equation (4); BTYDplus ``abe.mcmc.DrawParameters`` samples the same model with
:math:`\tau` and the alive indicator augmented instead).

References
----------
.. [1] Abe, M. (2009). "'Counting your customers' one by one: a hierarchical Bayes extension to
   the Pareto/NBD model". Marketing Science 28(3), 541-553.
.. [2] Platzer, M. (2016-2024). BTYDplus, R package: ``abe.mcmc.DrawParameters``,
   ``abe.GenerateData``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["loglik", "probability_alive", "expected_purchases", "simulate", "RATES"]

#: The two latent log-rates per customer, in the order the model stacks them.
RATES = ("log_lambda", "log_mu")


def loglik(xp, log_lambda, log_mu, *, frequency, recency, T):
    r"""Log-likelihood of :math:`(x, t_x, T)` given one customer's log-rates (module docstring).

    .. math:: \log L = x\log\lambda - \log(\lambda+\mu)
              + \operatorname{logaddexp}(\log\mu - (\lambda+\mu)t_x,\ \log\lambda - (\lambda+\mu)T)

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> round(float(loglik(backend.numpy, np.log(0.1), np.log(0.05), frequency=2, recency=30.4, T=38.9)), 6)
    -9.819826
    """
    lam, mu = xp.exp(log_lambda), xp.exp(log_mu)
    rate = lam + mu
    return frequency * log_lambda - xp.log(rate) + xp.logaddexp(log_mu - rate * recency, log_lambda - rate * T)


def _log_p_alive(xp, log_lambda, log_mu, recency, T):
    # P(alive) = (lam+mu) / (lam + mu e^{(lam+mu)(T-t_x)}): in logs, so a long silence gives 0, not inf/inf
    lam, mu = xp.exp(log_lambda), xp.exp(log_mu)
    rate = lam + mu
    return xp.log(rate) - xp.logaddexp(log_lambda, log_mu + rate * (T - recency))


def probability_alive(xp, log_lambda, log_mu, *, frequency, recency, T):
    r"""P(alive at T) given the rates and the history (Abe 2009, equation (7)).

    .. math:: P(\tau > T \mid x, t_x, T) = \frac{1}{1 + \frac{\mu}{\lambda+\mu}\left(e^{(\lambda+\mu)(T-t_x)} - 1\right)}

    It does not depend on :math:`x` given the rates; ``frequency`` is accepted for a uniform call.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> round(float(probability_alive(backend.numpy, np.log(0.1), np.log(0.05), frequency=2, recency=30.4, T=38.9)), 4)
    0.5378
    """
    return xp.exp(_log_p_alive(xp, log_lambda, log_mu, recency, T))


def expected_purchases(xp, log_lambda, log_mu, *, frequency, recency, T, t):
    r"""Expected purchases in :math:`(T, T+t]` given the rates and the history.

    .. math:: E[X(T, T+t)] = \frac{\lambda}{\mu}\left(1 - e^{-\mu t}\right) P(\tau > T \mid x, t_x, T)

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> round(float(expected_purchases(backend.numpy, np.log(0.1), np.log(0.05), frequency=2, recency=30.4,
    ...                                T=38.9, t=39.0)), 4)
    0.9225
    """
    mu = xp.exp(log_mu)
    return xp.exp(log_lambda - log_mu + _log_p_alive(xp, log_lambda, log_mu, recency, T)) * -xp.expm1(-mu * t)


def simulate(rng: np.random.Generator, beta: np.ndarray, sigma, rho: float, z: np.ndarray, T) -> dict[str, np.ndarray]:
    r"""Simulate customers: log-rates :math:`\mathcal N(B^\top z_i, \Sigma)`, then Poisson purchases until death.

    Parameters
    ----------
    rng : numpy.random.Generator
    beta : array (K, 2)
        Coefficients of the design ``z`` (first column usually 1) on log lambda and log mu.
    sigma : pair of float
        Standard deviations of log lambda and log mu.
    rho : float
        Their correlation.
    z : array (n, K)
        The design, one row per customer.
    T : float or array (n,)
        Observation length since each customer's first purchase.

    Returns
    -------
    dict
        ``frequency``, ``recency``, ``T`` and the true ``log_lambda``, ``log_mu``, ``alive``.

    Examples
    --------
    >>> d = simulate(np.random.default_rng(0), np.array([[-2.5, -3.5]]), (0.8, 0.8), 0.5, np.ones((4, 1)), 39.0)
    >>> sorted(d), d["frequency"].shape
    (['T', 'alive', 'frequency', 'log_lambda', 'log_mu', 'recency'], (4,))
    """
    z = np.asarray(z, dtype=float)
    n = z.shape[0]
    sd = np.asarray(sigma, dtype=float)
    cov = np.outer(sd, sd) * np.array([[1.0, rho], [rho, 1.0]])
    theta = z @ np.asarray(beta, dtype=float) + rng.multivariate_normal(np.zeros(2), cov, size=n)
    lam, mu = np.exp(theta[:, 0]), np.exp(theta[:, 1])
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    tau = rng.exponential(1.0 / mu)
    active = np.minimum(tau, T)
    x = rng.poisson(lam * active)
    # the last of x uniform purchase times on (0, active]: active * U^(1/x)
    u = rng.uniform(size=n)
    tx = np.where(x > 0, active * u ** (1.0 / np.maximum(x, 1)), 0.0)
    return {"frequency": x.astype(float), "recency": tx, "T": T, "log_lambda": theta[:, 0], "log_mu": theta[:, 1],
            "alive": tau > T}
