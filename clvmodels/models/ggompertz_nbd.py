r"""GGompertz/NBD: Poisson purchases, Gompertz lifetimes with gamma heterogeneity (Bemmaor & Glady 2012).

While alive a customer buys as a Poisson process with rate :math:`\lambda \sim
\mathrm{Gamma}(r, \alpha)`. Her lifetime has a Gompertz hazard, :math:`P(\tau > t \mid \eta) =
\exp(-\eta(e^{bt} - 1))`, with :math:`\eta \sim \mathrm{Gamma}(s, \beta)` across customers: the
mixture is the gamma-Gompertz,

.. math:: S(t) = \left(\frac{\beta}{\beta + e^{bt} - 1}\right)^s,\qquad
          f(t) = \frac{b\, s\, \beta^s e^{bt}}{(\beta + e^{bt} - 1)^{s+1}}.

As :math:`b \to 0` with :math:`\beta/b` fixed it is the Pareto/NBD (exponential lifetimes with
gamma-distributed rates :math:`\eta b \sim \mathrm{Gamma}(s, \beta/b)`); :math:`b > 0` lets the
dropout hazard rise with age, :math:`b` small and :math:`\beta < 1` makes it fall. The
likelihood of :math:`(x, t_x, T)` is

.. math:: L = \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)} \left[\frac{S(T)}{(\alpha+T)^{r+x}}
          + \int_{t_x}^{T} \frac{f(\tau)}{(\alpha+\tau)^{r+x}}\, d\tau\right],

whose integral has no closed form; it is computed by 32-point Gauss-Legendre quadrature in
:math:`v = \log(\alpha + \tau)` (the integrand is smooth in :math:`v` even where
:math:`(\alpha+\tau)^{-(r+x)}` falls steeply), written once for NumPy and PyTensor. Given alive
at :math:`T`, :math:`\lambda \sim \mathrm{Gamma}(r+x, \alpha+T)` and the lifetime's survival is
:math:`S(T+u)/S(T)`, so the conditional expected purchases are

.. math:: E[X(T, T+t) \mid x, t_x, T] = P(\text{alive}) \frac{r+x}{\alpha+T}
          \int_0^t \left(\frac{\beta + e^{bT} - 1}{\beta + e^{b(T+u)} - 1}\right)^s du,

the corrected form of Bemmaor & Glady's equation that Adler (2022) gives and CLVTools uses.

References
----------
.. [1] Bemmaor, A. C. and Glady, N. (2012). "Modeling purchasing behavior with sudden 'death':
   a flexible customer lifetime model". Management Science 58(5), 1012-1021.
.. [2] Adler, J. (2022). Comment on "Modeling purchasing behavior with sudden 'death'".
   Management Science 69(3), 1929-1930.
"""

from __future__ import annotations

import numpy as np

from clvmodels.models.common import RFM_FIELDS
from clvmodels.models.spec import ModelSpec, Param, Prediction

__all__ = ["loglik", "probability_alive", "expected_purchases", "expected_purchases_new_customer", "simulate"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(32)
_U = (_NODES + 1.0) / 2.0  # nodes on (0, 1)
_LOG_W = np.log(_WEIGHTS / 2.0)


def _col(xp, v):
    # a quadrature axis after the data's axes
    return xp.asarray(v)[..., None]


def _log_dropout_denominator(xp, b, beta, t):
    # log(beta + e^(b t) - 1), with expm1 so that b t ~ 1e-4 keeps its digits
    return xp.log(beta + xp.expm1(b * t))


def _log_terms(xp, r, alpha, b, s, beta, frequency, recency, T):
    """(log 'alive at T' term, log 'died in (t_x, T]' term), without the common factor."""
    log_alive = -(r + frequency) * xp.log(alpha + T) + s * (xp.log(beta) - _log_dropout_denominator(xp, b, beta, T))
    same = recency >= T
    v0 = xp.log(alpha + xp.where(same, 0.0, recency))
    span = xp.log(alpha + T) - v0
    v = _col(xp, v0) + _col(xp, span) * _U
    tau = xp.exp(v) - _col(xp, alpha)
    log_f = (_col(xp, xp.log(b) + xp.log(s) + s * xp.log(beta)) + _col(xp, b) * tau
             - _col(xp, s + 1.0) * _log_dropout_denominator(xp, _col(xp, b), _col(xp, beta), tau))
    log_integrand = log_f - _col(xp, r + frequency - 1.0) * v
    log_dead = xp.logsumexp(log_integrand + _LOG_W, axis=-1) + xp.log(xp.where(same, 1.0, span))
    return log_alive, xp.where(same, -xp.inf, log_dead)


def loglik(xp, r, alpha, b, s, beta, *, frequency, recency, T):
    r"""Log-likelihood of one customer's (x, t_x, T), equation (3) of [1]_ with the integral by quadrature.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 0.553, 10.578, 0.0002, 0.603, 0.0026,
    ...                    frequency=2, recency=30.43, T=38.86)), 4)
    -9.5062
    """
    log_alive, log_dead = _log_terms(xp, r, alpha, b, s, beta, frequency, recency, T)
    return xp.gammaln(r + frequency) - xp.gammaln(r) + r * xp.log(alpha) + xp.logaddexp(log_alive, log_dead)


def probability_alive(xp, r, alpha, b, s, beta, *, frequency, recency, T):
    r"""P(alive at T | x, t_x, T): the 'alive at T' share of the likelihood.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(probability_alive(backend.numpy, 0.553, 10.578, 0.0002, 0.603, 0.0026,
    ...                               frequency=2, recency=30.43, T=38.86)), 4)
    0.8727
    """
    log_alive, log_dead = _log_terms(xp, r, alpha, b, s, beta, frequency, recency, T)
    return xp.exp(log_alive - xp.logaddexp(log_alive, log_dead))


def _expected_lifetime(xp, b, s, beta, T, t):
    # integral_0^t S(T + u) / S(T) du by Gauss-Legendre on (0, t)
    u = _col(xp, t) * _U
    log_ratio = _col(xp, s) * (_log_dropout_denominator(xp, _col(xp, b), _col(xp, beta), _col(xp, T))
                                - _log_dropout_denominator(xp, _col(xp, b), _col(xp, beta), _col(xp, T) + u))
    return t * xp.sum(xp.exp(log_ratio) * (_WEIGHTS / 2.0), axis=-1)


def expected_purchases(xp, r, alpha, b, s, beta, *, frequency, recency, T, t):
    r"""Expected purchases in (T, T + t] given the history (the Adler 2022 form, [2]_).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases(backend.numpy, 0.553, 10.578, 0.0002, 0.603, 0.0026,
    ...                                frequency=2, recency=30.43, T=38.86, t=39)), 4)
    1.4663
    """
    alive = probability_alive(xp, r, alpha, b, s, beta, frequency=frequency, recency=recency, T=T)
    return alive * (r + frequency) / (alpha + T) * _expected_lifetime(xp, b, s, beta, T, t)


def expected_purchases_new_customer(xp, r, alpha, b, s, beta, *, t):
    r"""E[X(t)] of a customer just acquired: :math:`\frac{r}{\alpha}\int_0^t S(u)\,du`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_purchases_new_customer(backend.numpy, 0.553, 10.578, 0.0002, 0.603, 0.0026, t=39)), 4)
    1.2555
    """
    return r / alpha * _expected_lifetime(xp, b, s, beta, 0.0, t)


def simulate(rng, n, r, alpha, b, s, beta, *, T=None):
    """Draw ``n`` customers' (frequency, recency, T) from the GGompertz/NBD process.

    The lifetime inverts :math:`S(t \\mid \\eta) = \\exp(-\\eta(e^{bt}-1))`:
    :math:`\\tau = \\log(1 + E/\\eta)/b` with :math:`E` standard exponential.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.5, 10.0, 0.01, 0.6, 0.2, T=40.0)
    >>> sorted(d), bool(np.all(d["recency"] <= d["T"]))
    (['T', 'alive', 'frequency', 'recency'], True)
    """
    T = np.broadcast_to(np.asarray(40.0 if T is None else T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    eta = rng.gamma(s, 1.0 / beta, n)
    lifetime = np.log1p(rng.exponential(1.0, n) / eta) / b
    active = np.minimum(lifetime, T)
    x = rng.poisson(lam * active).astype(float)
    tx = np.where(x > 0, active * rng.random(n) ** (1.0 / np.maximum(x, 1.0)), 0.0)
    return {"frequency": x, "recency": tx, "T": T, "alive": (lifetime > T).astype(float)}


SPEC = ModelSpec(
    name="ggompertz_nbd",
    title="GGompertz/NBD",
    params=(
        Param("r", symbol="r", prior=("Weibull", {"alpha": 2.0, "beta": 1.0})),
        Param("alpha", symbol=r"\alpha", prior=("Weibull", {"alpha": 2.0, "beta": 10.0}), time_scale=True),
        Param("b", symbol="b", prior=("HalfNormal", {"sigma": 1.0}), init=0.1),
        Param("s", symbol="s", prior=("Weibull", {"alpha": 2.0, "beta": 1.0})),
        Param("beta", symbol=r"\beta", prior=("HalfNormal", {"sigma": 10.0})),
    ),
    data=RFM_FIELDS,
    loglik=loglik,
    predictions={
        "expected_purchases": expected_purchases,
        "probability_alive": probability_alive,
        "expected_purchases_new_customer": Prediction(expected_purchases_new_customer),
    },
    reference="Bemmaor & Glady (2012), Management Science 58(5); Adler (2022)",
    simulate=simulate,
    aliases=("ggomnbd", "gg_nbd_gompertz"),
    covariate_links={"purchase": (("alpha", -1.0),), "dropout": (("beta", -1.0),)},
)
