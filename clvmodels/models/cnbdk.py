r"""BG/CNBD-k and MBG/CNBD-k: BG/NBD and MBG/NBD with Erlang-k inter-purchase times (regular buying).

While alive a customer's inter-purchase times are Erlang-k with rate :math:`\lambda`
(mean :math:`k/\lambda`): her purchases are every :math:`k`-th event of a Poisson process of
rate :math:`\lambda`, with :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` across customers.
After each purchase she drops out with probability :math:`p \sim \mathrm{Beta}(a, b)`;
MBG/CNBD-k also lets her drop out right after the first purchase (time 0). :math:`k = 1` is
BG/NBD and MBG/NBD. The parametrisation is BTYDplus's ([1]_, [2]_): its ``alpha`` is the
scale of the Poisson process's rate, so the mean inter-purchase time is :math:`k/\lambda`.

The likelihood needs, beyond :math:`(x, t_x, T)`, ``litt``
:math:`= \sum_{i=1}^{x} \log(t_i - t_{i-1})` (``rfm_summary(..., regularity=True)``):

.. math::

    L = \frac{e^{(k-1)\,\mathrm{litt}}}{((k-1)!)^{x}}
        \frac{B(a, b+x+d)}{B(a, b)}
        \frac{\Gamma(r+kx)\,\alpha^r}{\Gamma(r)(\alpha+T)^{r+kx}}
        \left[\delta_{d + x > 0} \frac{a}{b+x-1+d} \left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+kx}
        + \sum_{j=0}^{k-1} \frac{(r+kx)_j}{j!} \left(\frac{T-t_x}{\alpha+T}\right)^j\right]

with :math:`d = 1` for MBG/CNBD-k and 0 for BG/CNBD-k. The sum is the chance, mixed over
:math:`\lambda`, that fewer than :math:`k` Poisson events fall in :math:`(t_x, T]`: its
:math:`j`-th term is the alive customer who is :math:`j` events into her next inter-purchase time.

Conditional expected purchases are exact (not BTYDplus's BG/NBD-based approximation): given
alive at :math:`T` and in phase :math:`j` (weight :math:`\propto` the :math:`j`-th term above),
:math:`\lambda \sim \mathrm{Gamma}(r+kx+j, \alpha+T)` and :math:`p \sim \mathrm{Beta}(a, b+x+d)`;
her :math:`m`-th future purchase needs :math:`mk - j` Poisson events in :math:`(T, T+t]` and
:math:`m-1` survived dropout chances, so

.. math:: E[Y(t) \mid x, t_x, T] = P(\text{alive}) \sum_{j=0}^{k-1} w_j \sum_{m \ge 1}
          \frac{B(a, b+x+d+m-1)}{B(a, b+x+d)}\, I_{t/(\alpha+T+t)}(mk - j,\ r+kx+j),

:math:`I` the regularised incomplete beta (the NBD's tail). The series is summed until its
terms fall below :math:`10^{-12}` of the sum.

References
----------
.. [1] Reutterer, T., Platzer, M. and Schroeder, N. (2020). "Leveraging purchase regularity for
   predicting customer behavior the easy way". International Journal of Research in Marketing
   38(1), 194-215.
.. [2] Platzer, M. and Reutterer, T. (2016). "Ticking away the moments: timing regularity helps
   to better predict customer activity". Marketing Science 35(5), 779-799.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import special as sc

from clvmodels.models.common import RFM_FIELDS
from clvmodels.models.spec import NUMPY_ONLY, DataField, ModelSpec, Param, Prediction

__all__ = ["cnbd_spec", "with_k", "k_of", "simulate", "BG_SPEC", "MBG_SPEC"]

LITT = DataField("litt", "real", description="sum of log inter-purchase times (rfm_summary(..., regularity=True))")
#: The k tried by ``k="auto"`` (BTYDplus's grid is 1..12, stopped once the likelihood falls twice).
K_MAX = 12


def _log_terms(xp, r, alpha, a, b, frequency, recency, T, *, k, d):
    """(log 'dropped after the last purchase' term, log of each phase's 'alive' term j = 0..k-1)."""
    x = frequency
    shape = r + k * x
    safe_b = xp.where(x + d > 0, b + x - 1.0 + d, 1.0)
    log_odds = xp.log(a) - xp.log(safe_b) + shape * (xp.log(alpha + T) - xp.log(alpha + recency))
    log_dropped = xp.where(x + d > 0, log_odds, -np.inf)
    gap = T - recency
    log_gap = xp.log(xp.where(gap > 0, gap, 1.0))
    phases = [0.0 * shape]
    for j in range(1, k):
        term = (xp.gammaln(shape + j) - xp.gammaln(shape) - float(sc.gammaln(j + 1.0))
                + j * (log_gap - xp.log(alpha + T)))
        phases.append(xp.where(gap > 0, term, -np.inf))
    return log_dropped, phases


def _logsum(xp, terms):
    out = terms[0]
    for term in terms[1:]:
        out = xp.logaddexp(out, term)
    return out


def _make(k: int, d: int):
    """The loglik and predictions of the model with Erlang-k purchases and dropout at zero if d."""

    def loglik(xp, r, alpha, a, b, *, frequency, recency, T, litt):
        x = frequency
        log_dropped, phases = _log_terms(xp, r, alpha, a, b, frequency, recency, T, k=k, d=d)
        return ((k - 1.0) * litt - x * float(sc.gammaln(k))
                + xp.betaln(a, b + x + d) - xp.betaln(a, b)
                + xp.gammaln(r + k * x) - xp.gammaln(r) + r * xp.log(alpha) - (r + k * x) * xp.log(alpha + T)
                + xp.logaddexp(log_dropped, _logsum(xp, phases)))

    # the predictions take (and ignore) litt: the summary's columns all reach every formula
    def probability_alive(xp, r, alpha, a, b, *, frequency, recency, T, litt=None):
        log_dropped, phases = _log_terms(xp, r, alpha, a, b, frequency, recency, T, k=k, d=d)
        log_alive = _logsum(xp, phases)
        return xp.exp(log_alive - xp.logaddexp(log_dropped, log_alive))

    def expected_purchases(xp, r, alpha, a, b, *, frequency, recency, T, t, litt=None):
        x, recency, T, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T, t)))
        log_dropped, phases = _log_terms(xp, r, alpha, a, b, x, recency, T, k=k, d=d)
        log_alive = _logsum(xp, phases)
        p_alive = np.exp(log_alive - np.logaddexp(log_dropped, log_alive))
        out = 0.0
        for j, log_w in enumerate(phases):
            out = out + np.exp(log_w - log_alive) * _future_purchases(r + k * x + j, alpha + T, a, b + x + d, j, t, k)
        return p_alive * out

    def expected_purchases_new_customer(xp, r, alpha, a, b, *, t):
        t = np.asarray(t, dtype=float)
        start = np.exp(sc.betaln(a, b + d) - sc.betaln(a, b))  # survived the dropout chance at 0 (MBG)
        return start * _future_purchases(r, alpha, a, b + d, 0, t, k)

    for fn in (loglik, probability_alive, expected_purchases, expected_purchases_new_customer):
        fn.__doc__ = _DOCS[fn.__name__]
    return loglik, probability_alive, expected_purchases, expected_purchases_new_customer


def _future_purchases(shape, scale, a, b, j, t, k):
    r""":math:`\sum_{m\ge1} \frac{B(a, b+m-1)}{B(a,b)} I_{t/(scale+t)}(mk-j, shape)`: purchases in
    (0, t] of a customer j events into her inter-purchase time, lambda ~ Gamma(shape, scale), p ~ Beta(a, b)."""
    shape, scale, a, b, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (shape, scale, a, b, t)))
    q, shape, a_, b = (v.ravel() for v in np.broadcast_arrays(t / (scale + t), shape, a, b))
    total = np.zeros(q.shape)
    log_survive = np.zeros(q.shape)  # log B(a, b+m-1)/B(a, b)
    todo = np.flatnonzero(q > 0)  # rows whose series has not converged (heavy buyers need many terms)
    m = 1
    while todo.size:
        term = np.exp(log_survive[todo]) * sc.betainc(m * k - j, shape[todo], q[todo])
        total[todo] += term
        log_survive[todo] += np.log(b[todo] + m - 1.0) - np.log(a_[todo] + b[todo] + m - 1.0)
        todo = todo[term > 1e-12 * total[todo]]
        m += 1
    return total.reshape(t.shape)


_DOCS = {
    "loglik": "Log-likelihood of one customer's (x, t_x, T, litt) (see the module docstring).",
    "probability_alive": "P(alive at T | x, t_x, T): the 'alive' share of the likelihood's bracket.",
    "expected_purchases": "Expected purchases in (T, T + t] given the history, exact series (module docstring).",
    "expected_purchases_new_customer": "E[X(t)] of a customer just acquired (the series at x = 0, T = 0, j = 0).",
}


def simulate(rng, n, r, alpha, a, b, *, T=None, k: int = 2, dropout_at_zero: bool = True, horizon: float = 0.0):
    """Draw ``n`` customers' (frequency, recency, T, litt) from the (M)BG/CNBD-k process.

    ``alive`` (0/1) is the latent state at ``T``; ``future`` counts the purchases in
    ``(T, T + horizon]``.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 5, 0.5, 6.0, 0.9, 1.6, T=40.0, k=2)
    >>> sorted(d), bool(np.all(d["recency"] <= d["T"]))
    (['T', 'alive', 'frequency', 'future', 'litt', 'recency'], True)
    """
    T = np.broadcast_to(np.asarray(40.0 if T is None else T, dtype=float), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x, tx, litt, future = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    stays = rng.random(n) >= p if dropout_at_zero else np.ones(n, dtype=bool)
    alive = stays.astype(float)
    active = np.flatnonzero(stays)
    t_now = np.zeros(n)
    while active.size:
        gap = rng.gamma(k, 1.0, active.size) / lam[active]
        t_next = t_now[active] + gap
        keep = t_next <= T[active] + horizon
        active, t_next, gap = active[keep], t_next[keep], gap[keep]
        cal = t_next <= T[active]
        x[active[cal]] += 1
        tx[active[cal]] = t_next[cal]
        litt[active[cal]] += np.log(gap[cal])
        future[active[~cal]] += 1
        t_now[active] = t_next
        stays = rng.random(active.size) >= p[active]
        alive[active[~stays & cal]] = 0.0
        active = active[stays]
    return {"frequency": x, "recency": tx, "T": T, "litt": litt, "alive": alive, "future": future}


def cnbd_spec(k: int, *, dropout_at_zero: bool) -> ModelSpec:
    """The spec of BG/CNBD-k (``dropout_at_zero=False``) or MBG/CNBD-k for one fixed ``k``.

    Examples
    --------
    >>> cnbd_spec(3, dropout_at_zero=True).key
    'mbgcnbd+k3'
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k, the Erlang order of the inter-purchase times, must be a whole number >= 1. Got {k!r}.")
    k, d = int(k), int(bool(dropout_at_zero))
    loglik, p_alive, expected, new = _make(k, d)
    prefix = "m" if d else ""

    def sim(rng, n, r, alpha, a, b, *, T=None):
        return simulate(rng, n, r, alpha, a, b, T=T, k=k, dropout_at_zero=bool(d))

    return ModelSpec(
        name=f"{prefix}bgcnbd",
        title=f"{prefix.upper()}BG/CNBD-k",
        params=(
            Param("r", symbol="r", prior=("Weibull", {"alpha": 2.0, "beta": 1.0})),
            Param("alpha", symbol=r"\alpha", prior=("Weibull", {"alpha": 2.0, "beta": 10.0}), time_scale=True),
            Param("a", symbol="a", prior=("HalfNormal", {"sigma": 10.0})),
            Param("b", symbol="b", prior=("HalfNormal", {"sigma": 10.0})),
        ),
        data=(*RFM_FIELDS, LITT),
        loglik=loglik,
        predictions={
            "expected_purchases": Prediction(expected, backends=NUMPY_ONLY),
            "probability_alive": p_alive,
            "expected_purchases_new_customer": Prediction(new, backends=NUMPY_ONLY),
        },
        reference="Reutterer, Platzer & Schroeder (2020), IJRM 38(1); Platzer & Reutterer (2016), Mark. Sci. 35(5)",
        simulate=sim,
        aliases=(f"{prefix}bg_cnbd", f"{prefix}bg_cnbd_k", f"{prefix}bgcnbd_k"),
        variant=f"k{k}",
    )


def k_of(spec: ModelSpec) -> int:
    """The Erlang order ``k`` of a (M)BG/CNBD-k spec.

    Examples
    --------
    >>> k_of(cnbd_spec(4, dropout_at_zero=False))
    4
    """
    return int(spec.variant[1:])


def with_k(spec: ModelSpec, k: int) -> ModelSpec:
    """The same (M)BG/CNBD-k spec with another ``k``.

    Examples
    --------
    >>> with_k(MBG_SPEC, 1).variant
    'k1'
    """
    out = cnbd_spec(k, dropout_at_zero=spec.name.startswith("m"))
    return replace(out, aliases=spec.aliases)


#: The registered specs (k = 2, the regularity BTYDplus finds in its grocery data); estimators
#: and model files choose k (:func:`with_k`).
BG_SPEC = cnbd_spec(2, dropout_at_zero=False)
MBG_SPEC = cnbd_spec(2, dropout_at_zero=True)
