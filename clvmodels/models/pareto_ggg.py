r"""Pareto/GGG given each customer's own rates and regularity (Platzer & Reutterer 2016's first stage).

Pareto/GGG [1]_ replaces Pareto/NBD's Poisson purchases by a renewal process with gamma
inter-transaction times of shape :math:`k_i` and rate :math:`k_i\lambda_i` (mean
:math:`1/\lambda_i` whatever the regularity; :math:`k_i = 1` is Poisson, larger is more
regular), keeps the exponential lifetime :math:`\tau_i` with rate :math:`\mu_i`, and draws all
three per customer from gamma distributions:

.. math::

    \lambda_i \sim \Gamma(r, \alpha),\quad \mu_i \sim \Gamma(s, \beta),\quad k_i \sim \Gamma(t, \gamma).

There is no closed-form marginal likelihood, so the three are latent parameters sampled per
customer (:class:`clvmodels.pareto_ggg.ParetoGGG`). This module holds what is written once
against the ``xp`` backend: the likelihood of a customer's history given
:math:`(\lambda, \mu, k)` with the lifetime integrated out **in closed form** (so NUTS applies,
with exact gradients through the regularized incomplete gamma function), and P(alive).

With :math:`x` repeat purchases, the last at :math:`t_x`, observation length :math:`T`,
:math:`c = k\lambda` and the sum of log inter-transaction times ``litt``:

.. math::

    L = \underbrace{\prod_{j=1}^{x} \frac{c^k\, \Delta_j^{k-1} e^{-c\Delta_j}}{\Gamma(k)}}_{\text{the purchases}}
        \Big[\underbrace{e^{-\mu T}\, Q(k, c(T-t_x))}_{\text{alive at } T}
        + \underbrace{\int_{t_x}^{T} \mu e^{-\mu\tau}\, Q(k, c(\tau-t_x))\, d\tau}_{\text{died in silence}}\Big]
      = \frac{c^{kx} e^{(k-1)\,\mathrm{litt} - c\,t_x - \mu t_x}}{\Gamma(k)^x}
        \left[1 - \left(\frac{c}{c+\mu}\right)^{k} P\big(k, (c+\mu)(T-t_x)\big)\right],

where :math:`P` and :math:`Q = 1 - P` are the regularized lower and upper incomplete gamma
functions (integrate the second term by parts: the boundary term cancels the first). With
:math:`k = 1` it is the Pareto/NBD's individual likelihood
(:func:`clvmodels.models.hierarchical_pareto_nbd.loglik`). BTYDplus [2]_ instead augments the
lifetime and samples it by slice sampling.

References
----------
.. [1] Platzer, M. and Reutterer, T. (2016). "Ticking away the moments: timing regularity helps
   to better predict customer activity". Marketing Science 35(5), 779-799.
.. [2] Platzer, M. (2016-2024). BTYDplus, R package: ``pggg.mcmc.DrawParameters``,
   ``pggg.GenerateData``.
"""

from __future__ import annotations

import numpy as np

from clvmodels import backend

__all__ = ["loglik", "probability_alive", "simulate", "future_purchases", "LATENTS"]

#: The three latent log-parameters per customer, in the order the model stacks them.
LATENTS = ("log_lambda", "log_mu", "log_k")


def _log_death_before_next(xp, log_lambda, log_mu, log_k, recency, T):
    # log[1 - (c/(c+mu))^k P(k, (c+mu)(T - t_x))]: the chance that no purchase follows t_x within
    # (t_x, T] while alive, lifetime integrated out
    k = xp.exp(log_k)
    c = xp.exp(log_k + log_lambda)
    rate = c + xp.exp(log_mu)
    # a purchase on the last day (T = t_x) would put log(P(k, 0)) = -inf in the gradient
    silence = xp.maximum(T - recency, 1e-12)
    log_next = k * (xp.log(c) - xp.log(rate)) + xp.log(xp.gammainc(k, rate * silence))
    return xp.log1mexp(log_next)


def loglik(xp, log_lambda, log_mu, log_k, *, frequency, recency, T, litt):
    r"""Log-likelihood of a history given one customer's log-rates and log-regularity (module docstring).

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> round(float(loglik(backend.numpy, np.log(0.1), np.log(0.05), np.log(2.0), frequency=2, recency=30.4,
    ...                    T=38.9, litt=5.6)), 6)
    -8.950469
    """
    k = xp.exp(log_k)
    c = xp.exp(log_k + log_lambda)
    purchases = frequency * (k * xp.log(c) - xp.gammaln(k)) + (k - 1.0) * litt - c * recency
    return purchases - xp.exp(log_mu) * recency + _log_death_before_next(xp, log_lambda, log_mu, log_k, recency, T)


def probability_alive(xp, log_lambda, log_mu, log_k, *, frequency, recency, T, litt=None):
    r"""P(alive at T) given the latent parameters and the history.

    .. math:: P(\tau > T \mid \cdot) = \frac{e^{-\mu(T-t_x)}\, Q(k, k\lambda(T-t_x))}
              {1 - \left(\frac{k\lambda}{k\lambda+\mu}\right)^k P\big(k, (k\lambda+\mu)(T-t_x)\big)}

    Unlike the Pareto/NBD's, it falls faster with the silence :math:`T - t_x` for a regular
    customer (large :math:`k`): a regular buyer long overdue is more likely gone. ``frequency``
    and ``litt`` are accepted for a uniform call.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> def pa(k, recency):  # mean gap 10, silent for 38.9 - recency
    ...     return round(float(probability_alive(backend.numpy, np.log(0.1), np.log(0.05), np.log(k), frequency=2,
    ...                                          recency=recency, T=38.9)), 4)
    >>> [pa(1.0, 10.0), pa(4.0, 10.0)]  # silent for three gaps: the regular buyer is likely gone
    [0.0383, 0.002]
    """
    k = xp.exp(log_k)
    silence = T - recency
    log_alive = -xp.exp(log_mu) * silence + xp.log(xp.gammaincc(k, xp.exp(log_k + log_lambda) * silence))
    return xp.exp(log_alive - _log_death_before_next(xp, log_lambda, log_mu, log_k, recency, T))


def _history(rng, lam, k, end):
    # purchase times in (0, end] of a gamma(k, k lam) renewal process from 0: count, last time, sum of log gaps
    n = lam.shape[0]
    now = np.zeros(n)
    x = np.zeros(n)
    last = np.zeros(n)
    litt = np.zeros(n)
    open_ = np.ones(n, dtype=bool)
    while open_.any():
        idx = np.flatnonzero(open_)
        gap = rng.gamma(k[idx], 1.0 / (k[idx] * lam[idx]))
        nxt = now[idx] + gap
        hit = nxt <= end[idx]
        took = idx[hit]
        now[took] = nxt[hit]
        x[took] += 1
        last[took] = nxt[hit]
        litt[took] += np.log(gap[hit])
        open_[idx[~hit]] = False
    return x, last, litt


def simulate(rng: np.random.Generator, n: int, r: float, alpha: float, s: float, beta: float, t: float,
             gamma: float, T) -> dict[str, np.ndarray]:
    r"""Simulate ``n`` Pareto/GGG customers observed for ``T`` after their first purchase.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
    r, alpha, s, beta, t, gamma : float
        The gamma distributions of :math:`\lambda` (shape, rate), :math:`\mu` and :math:`k`.
    T : float or array (n,)

    Returns
    -------
    dict
        ``frequency``, ``recency``, ``T``, ``litt`` and the true ``lambda``, ``mu``, ``k``, ``alive``.

    Examples
    --------
    >>> d = simulate(np.random.default_rng(0), 5, 1.0, 10.0, 0.5, 50.0, 3.0, 1.0, 39.0)
    >>> sorted(d)
    ['T', 'alive', 'frequency', 'k', 'lambda', 'litt', 'mu', 'recency']
    """
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    k = rng.gamma(t, 1.0 / gamma, size=n)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    tau = rng.exponential(1.0 / mu)
    x, last, litt = _history(rng, lam, k, np.minimum(tau, T))
    return {"frequency": x, "recency": last, "T": T, "litt": litt, "lambda": lam, "mu": mu, "k": k,
            "alive": tau > T}


def future_purchases(rng: np.random.Generator, log_lambda, log_mu, log_k, *, recency, T, t: float) -> np.ndarray:
    r"""One simulated count of purchases in :math:`(T, T+t]` per entry, given the latent parameters.

    The customer is alive at :math:`T` with :func:`probability_alive`; if so, the interval
    running since :math:`t_x` is drawn from the gamma conditional on exceeding :math:`T - t_x`
    (the renewal process is not memoryless unless :math:`k = 1`), then renewals continue until
    the remaining exponential lifetime or :math:`T + t`. Arrays broadcast (draws x customers);
    averaging over posterior draws gives the posterior mean forecast, as BTYDplus's
    ``pggg.mcmc.DrawFutureTransactions`` does.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = future_purchases(rng, np.full(20_000, np.log(0.5)), np.full(20_000, np.log(1e-9)),
    ...                          np.zeros(20_000), recency=10.0, T=10.0, t=4.0)
    >>> round(float(draws.mean()), 1)  # Poisson(0.5 x 4) when nobody dies
    2.0
    """
    from scipy.special import gammaincc, gammainccinv

    shape = np.broadcast_shapes(np.shape(log_lambda), np.shape(log_mu), np.shape(log_k), np.shape(recency),
                                np.shape(T))
    lam = np.broadcast_to(np.exp(log_lambda), shape).ravel()
    mu = np.broadcast_to(np.exp(log_mu), shape).ravel()
    k = np.broadcast_to(np.exp(log_k), shape).ravel()
    silence = np.broadcast_to(np.asarray(T, dtype=float) - np.asarray(recency, dtype=float), shape).ravel()
    alive = rng.uniform(size=lam.size) < probability_alive(
        backend.numpy, np.log(lam), np.log(mu), np.log(k), frequency=0.0, recency=0.0, T=silence)
    # the running interval given it exceeds the silence: invert the upper tail on (0, Q(k, c s)]
    c = k * lam
    u = rng.uniform(size=lam.size) * gammaincc(k, c * silence)
    first = np.maximum(gammainccinv(k, np.maximum(u, 1e-300)) / c - silence, 0.0)
    end = np.minimum(rng.exponential(1.0 / mu), float(t))
    count = np.zeros(lam.size)
    live = alive & (first <= end)
    count[live] = 1.0 + _history(rng, lam[live], k[live], end[live] - first[live])[0]
    return count.reshape(shape)
