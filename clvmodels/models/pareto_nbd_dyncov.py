r"""Pareto/NBD with time-varying covariates (the "extended Pareto/NBD").

Bachmann, Meierer & Näf (2021) [1]_ let contextual covariates that change over calendar time
(a marketing contact, a season, a price level) act on both processes. The covariates are
piecewise constant on a regular grid of periods (weekly, say); in period :math:`k` customer
:math:`i` buys at rate :math:`\lambda_i w_{ik}` and drops out at rate :math:`\mu_i v_{ik}`,

.. math:: w_{ik} = \exp(\gamma_p^\top z_{ik}), \qquad v_{ik} = \exp(\gamma_d^\top z_{ik}),

with :math:`\lambda_i \sim \mathrm{Gamma}(r, \alpha)` and :math:`\mu_i \sim \mathrm{Gamma}(s,
\beta)` as in the plain model. Time runs on each customer's clock (0 at the first purchase,
``T`` at the calibration end); the grid is on the calendar.

Derivation (ours; it is the paper's closed form in another arrangement). With the
*time-transformed exposures* :math:`A(t) = \int_0^t w(u)\,du` and :math:`B(t) = \int_0^t
v(u)\,du` (piecewise linear), repeat purchases at :math:`t_1..t_x` and
:math:`S = \sum_j \log w(t_j)`, integrating over :math:`\lambda` and :math:`\mu` gives

.. math::

    L = \frac{\Gamma(r+x)\,\alpha^r\beta^s}{\Gamma(r)}\, e^{S}
    \left[\frac{1}{(\alpha+A(T))^{r+x}(\beta+B(T))^{s}}
    + s \int_{t_x}^{T} \frac{v(\tau)\, d\tau}{(\alpha+A(\tau))^{r+x}(\beta+B(\tau))^{s+1}}\right].

On a piece of :math:`(t_x, T]` inside period :math:`k` (where :math:`A` and :math:`B` start
from :math:`A_k, B_k` and grow at :math:`w_k, v_k`), the substitution :math:`\tau' = B(\tau)
- B_k` turns the integral into the plain Pareto/NBD one with shifted parameters:

.. math::

    \int_{\text{piece}} = \left(\frac{w_k}{v_k}\right)^{-(r+x)}
    \int_0^{v_k m_k} (\alpha'_k+\tau')^{-(r+x)} (\beta'_k+\tau')^{-(s+1)}\, d\tau',
    \qquad \alpha'_k = \frac{v_k}{w_k}(\alpha + A_k),\quad \beta'_k = \beta + B_k,

:math:`m_k` the piece's length; the inner integral is :math:`I(0) - I(v_k m_k)` with the
hypergeometric :math:`I` of :mod:`clvmodels.models.pareto_nbd` (evaluated by that module's
function, not a copy). CLVTools computes the same sum over the periods between :math:`t_x`
and :math:`T` (its ``F2_3`` loop, with terms named ``A``, ``B``, ``C``, ``D``). With
covariates constant over time :math:`A(t) = w t`, :math:`B(t) = v t` and the likelihood is
the time-invariant covariate Pareto/NBD's at :math:`\alpha_i = \alpha/w`, :math:`\beta_i =
\beta/v` (the tests check it to 1e-10).

Predictions given the history: the posterior of :math:`\lambda` given alive at :math:`T` is
:math:`\mathrm{Gamma}(r+x, \alpha+A(T))`, of :math:`\mu` :math:`\mathrm{Gamma}(s,
\beta+B(T))`, so with :math:`P_a` = P(alive at T) = the first bracket term over the bracket,

.. math::

    E[Y(T, T+t] \mid \text{history}] = P_a\,\frac{r+x}{\alpha+A(T)}
    \sum_{k} \frac{w_k}{v_k}\,(\beta+B(T))^{s}\,
    \frac{(\beta+B_k)^{1-s} - (\beta+B_k+v_k \ell_k)^{1-s}}{s-1}

over the prediction periods :math:`k` (lengths :math:`\ell_k`, exposures from :math:`T`).

Data layout (why columns per period): the maximum-likelihood engine reads each customer as
a row of 1-D columns (factored into distinct values). A customer's periods are padded to the
``K`` periods of the calibration grid: columns ``<covariate>:k`` (0 outside her window) and
``<covariate>:purchases`` (the covariate summed over her repeat purchases, the only
per-purchase quantity the likelihood needs, since :math:`S` is linear in :math:`\gamma_p`),
plus ``start`` (her first purchase on the grid's clock). The time of each period inside
(0, T] and (t_x, T] is computed in the formula from ``start``, ``recency`` and ``T``
(:func:`period_lengths`; 0 outside the window: that is the mask), so it needs no columns.
Per-customer sums cannot replace the covariate columns: :math:`A(T)` depends on
:math:`\gamma` non-linearly. The formula stacks the columns into customers x periods
matrices; the compiled graph still has one input per column, and compiling it takes longer
the more periods there are.

References
----------
.. [1] Bachmann, P., Meierer, M. and Näf, J. (2021). "The role of time-varying contextual
   factors in latent attrition models for customer base analysis". Marketing Science 40(4),
   783-809.
.. [2] Meierer, M. et al. CLVTools (R package), ``pnbd`` with dynamic covariates
   (src/pnbd_dyncov_LL*.cpp).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from clvmodels.models.covariates import CovariateDesign
from clvmodels.models.pareto_nbd import SPEC as PARETO_NBD
from clvmodels.models.pareto_nbd import _log_integral
from clvmodels.models.spec import REAL, DataField, ModelSpec, Param
from clvmodels.special import expm1_ratio, log_diff_exp

__all__ = ["dyncov_spec", "column_names", "loglik_periods", "probability_alive_periods", "simulate_periods", "period_lengths",
           "expected_purchases_periods"]


def column_names(columns: Sequence[str], n_periods: int) -> tuple[str, ...]:
    """The data columns of a spec with covariate ``columns`` on ``n_periods`` calibration periods.

    Examples
    --------
    >>> column_names(["contact"], 2)
    ('frequency', 'recency', 'T', 'start', 'contact:0', 'contact:1', 'contact:purchases')
    """
    out = ["frequency", "recency", "T", "start"]
    for c in columns:
        out += [f"{c}:{k}" for k in range(n_periods)] + [f"{c}:purchases"]
    return tuple(out)


def period_lengths(xp, start, recency, T, *, n_periods: int, width: float):
    """Each calibration period's time inside (0, T] and inside (t_x, T] (customers x periods).

    ``start`` is the customer's first purchase on the grid's clock (time since the start of
    the first calibration period); period k covers ``[k width, (k+1) width)``.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> length, after = period_lengths(backend.numpy, np.array([0.5]), np.array([1.0]), np.array([2.0]),
    ...                                n_periods=3, width=1.0)
    >>> length.tolist(), after.tolist()
    ([[0.5, 1.0, 0.5]], [[0.0, 0.5, 0.5]])
    """
    lo = np.arange(n_periods) * float(width)
    hi = lo + float(width)
    end = (start + T)[..., None]
    length = xp.maximum(xp.minimum(end, hi) - xp.maximum(start[..., None], lo), 0.0)
    after = xp.maximum(xp.minimum(end, hi) - xp.maximum((start + recency)[..., None], lo), 0.0)
    return length, after


def _log_weights(xp, coefs: Mapping[str, object], z: Mapping[str, object]):
    """:math:`\\gamma^\\top z` for each (customer, period): 0 without coefficients."""
    total = 0.0
    for name, value in coefs.items():
        total = total + value * z[name]
    return total


def _terms(xp, r, alpha, s, beta, frequency, length, after, log_w, log_v):
    """(log alive term, log dead term) of the bracket, for customers x periods matrices."""
    w, v = xp.exp(log_w), xp.exp(log_v)
    A_T, B_T = xp.sum(length * w, axis=-1), xp.sum(length * v, axis=-1)
    before = length - after
    A_tx, B_tx = xp.sum(before * w, axis=-1), xp.sum(before * v, axis=-1)
    x = frequency[..., None] if hasattr(frequency, "ndim") and frequency.ndim else frequency
    log_alive = -(r + frequency) * xp.log(alpha + A_T) - s * xp.log(beta + B_T)
    # exposure at the start of each piece after t_x: A(t_x) plus the earlier pieces
    A_k = A_tx[..., None] + xp.cumsum(after * w, axis=-1) - after * w
    B_k = B_tx[..., None] + xp.cumsum(after * v, axis=-1) - after * v
    piece = after > 0
    # pieces outside (t_x, T] are evaluated at a harmless length and dropped, so that no NaN
    # reaches a gradient
    span = xp.where(piece, after * v, 1.0)
    alpha_k = xp.exp(log_v - log_w) * (alpha + A_k)
    beta_k = beta + B_k
    log_piece = -(r + x) * (log_w - log_v) + log_diff_exp(
        xp, _log_integral(xp, r, alpha_k, s, beta_k, x, 0.0), _log_integral(xp, r, alpha_k, s, beta_k, x, span))
    log_piece = xp.where(piece, log_piece, -xp.inf)
    any_piece = xp.sum(xp.where(piece, 1.0, 0.0), axis=-1) > 0
    top = xp.where(any_piece, xp.max(log_piece, axis=-1), 0.0)
    total = xp.sum(xp.exp(log_piece - top[..., None]), axis=-1)
    log_dead = xp.log(s) + top + xp.log(xp.where(any_piece, total, 1.0))
    return log_alive, xp.where(any_piece, log_dead, -xp.inf), A_T, B_T


def loglik_periods(xp, r, alpha, s, beta, *, frequency, length, after, log_w, log_v, log_w_purchases):
    r"""Log-likelihood of each customer from her period matrices (customers x periods).

    ``length``/``after``: time of each period in (0, T] / (t_x, T]; ``log_w``, ``log_v``:
    :math:`\gamma_p^\top z` and :math:`\gamma_d^\top z` per period; ``log_w_purchases``:
    :math:`S = \sum_j \gamma_p^\top z(t_j)` over the repeat purchases.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels import backend
    >>> from clvmodels.models import pareto_nbd
    >>> length = np.array([[10.0, 10.0, 10.0, 8.86]]); after = np.array([[0.0, 0.0, 0.0, 8.43]])
    >>> zero = np.zeros((1, 4))
    >>> ll = loglik_periods(backend.numpy, 0.553, 10.578, 0.606, 11.669, frequency=np.array([2.0]),
    ...     length=length, after=after, log_w=zero, log_v=zero, log_w_purchases=0.0)
    >>> ref = pareto_nbd.loglik(backend.numpy, 0.553, 10.578, 0.606, 11.669, frequency=2, recency=30.43, T=38.86)
    >>> bool(abs(ll[0] - ref) < 1e-10)
    True
    """
    log_alive, log_dead, _, _ = _terms(xp, r, alpha, s, beta, frequency, length, after, log_w, log_v)
    return (xp.gammaln(r + frequency) - xp.gammaln(r) + r * xp.log(alpha) + s * xp.log(beta)
            + log_w_purchases + xp.logaddexp(log_alive, log_dead))


def probability_alive_periods(xp, r, alpha, s, beta, *, frequency, length, after, log_w, log_v):
    """P(alive at T | history): the alive term over the bracket (same matrices as :func:`loglik_periods`).

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels import backend
    >>> zero = np.zeros((1, 4))
    >>> p = probability_alive_periods(backend.numpy, 0.553, 10.578, 0.606, 11.669, frequency=np.array([2.0]),
    ...     length=np.array([[10.0, 10.0, 10.0, 8.86]]), after=np.array([[0.0, 0.0, 0.0, 8.43]]), log_w=zero, log_v=zero)
    >>> round(float(p[0]), 4)  # the plain Pareto/NBD's 0.8692
    0.8692
    """
    log_alive, log_dead, _, _ = _terms(xp, r, alpha, s, beta, frequency, length, after, log_w, log_v)
    return xp.exp(log_alive - xp.logaddexp(log_alive, log_dead))


def expected_purchases_periods(xp, r, alpha, s, beta, *, frequency, length, after, log_w, log_v,
                               future_length, future_log_w, future_log_v):
    r"""Conditional expected transactions (CET) in the prediction periods ``future_length``
    (customers x H, from T on), with their covariates' ``future_log_w``/``future_log_v``.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels import backend
    >>> zero = np.zeros((1, 4))
    >>> e = expected_purchases_periods(backend.numpy, 0.553, 10.578, 0.606, 11.669, frequency=np.array([2.0]),
    ...     length=np.array([[10.0, 10.0, 10.0, 8.86]]), after=np.array([[0.0, 0.0, 0.0, 8.43]]), log_w=zero,
    ...     log_v=zero, future_length=np.array([[20.0, 19.0]]), future_log_w=np.zeros((1, 2)),
    ...     future_log_v=np.zeros((1, 2)))
    >>> round(float(e[0]), 4)  # the plain Pareto/NBD's 1.4551 over t = 39
    1.4551
    """
    log_alive, log_dead, A_T, B_T = _terms(xp, r, alpha, s, beta, frequency, length, after, log_w, log_v)
    p_alive = xp.exp(log_alive - xp.logaddexp(log_alive, log_dead))
    fw, fv = xp.exp(future_log_w), xp.exp(future_log_v)
    grow = future_length * fv
    start = (beta + B_T)[..., None] + xp.cumsum(grow, axis=-1) - grow
    # (beta+B_T)^s [b_lo^(1-s) - b_hi^(1-s)] / (s-1) = (beta+B_T)^s b_lo^(1-s) (1 - (b_hi/b_lo)^(1-s)) / (s-1)
    log_ratio = -xp.log1p(grow / start)  # log(b_lo / b_hi)
    scale = xp.exp(s * xp.log(beta + B_T)[..., None] + (1.0 - s) * xp.log(start))
    span = scale * expm1_ratio(xp, s - 1.0, log_ratio)
    return p_alive * (r + frequency) / (alpha + A_T) * xp.sum(fw / fv * span, axis=-1)


def _matrices(xp, design: CovariateDesign, n_periods: int, width: float, values: Mapping[str, object],
              data: Mapping[str, object]) -> dict:
    """The period matrices of :func:`loglik_periods` from the spec's columns and parameters."""
    def stack(prefix):
        return xp.stack([data[f"{prefix}:{k}"] for k in range(n_periods)], axis=-1)

    length, after = period_lengths(xp, data["start"], data["recency"], data["T"], n_periods=n_periods, width=width)
    z = {c: stack(c) for c in design.columns}
    coef_p = {c: values[f"purchase:{c}"] for c in design.purchase}
    coef_d = {c: values[f"dropout:{c}"] for c in design.dropout}
    log_w = _log_weights(xp, coef_p, z) + 0.0 * length
    log_v = _log_weights(xp, coef_d, z) + 0.0 * length
    log_w_purchases = _log_weights(xp, coef_p, {c: data[f"{c}:purchases"] for c in design.purchase})
    return {"frequency": data["frequency"], "length": length, "after": after,
            "log_w": log_w, "log_v": log_v, "log_w_purchases": log_w_purchases}


def dyncov_spec(purchase: Sequence[str] = (), dropout: Sequence[str] = (), *, n_periods: int,
                width: float = 1.0, prior_sigma: float = 1.0) -> ModelSpec:
    """The spec of the Pareto/NBD with time-varying ``purchase`` and ``dropout`` covariates on
    ``n_periods`` calibration periods of ``width`` time units (columns: :func:`column_names`).

    Parameters r, alpha, s, beta (alpha and beta at z = 0), then ``purchase:<column>`` and
    ``dropout:<column>`` (REAL): a positive coefficient means a higher purchase / dropout rate
    in the periods where the covariate is higher.

    Examples
    --------
    >>> spec = dyncov_spec(purchase=["contact"], n_periods=3)
    >>> spec.param_names, len(spec.data_names)
    (('r', 'alpha', 's', 'beta', 'purchase:contact'), 8)
    """
    design = CovariateDesign(purchase=purchase, dropout=dropout)
    if not width > 0:
        raise ValueError(f"The periods' width must be > 0 time units; got {width!r}.")
    if n_periods < 1:
        raise ValueError(f"A time-varying covariate Pareto/NBD needs at least one period; got n_periods={n_periods}.")
    names = column_names(design.columns, n_periods)
    coefs = [f"purchase:{c}" for c in design.purchase] + [f"dropout:{c}" for c in design.dropout]
    params = PARETO_NBD.params + tuple(
        Param(name, support=REAL, symbol=rf"\gamma_{{\mathrm{{{name}}}}}",
              prior=("Normal", {"mu": 0.0, "sigma": float(prior_sigma)}), init=0.0) for name in coefs)
    base = PARETO_NBD.param_names

    def loglik(xp, **kwargs):
        values = {k: kwargs[k] for k in (*base, *coefs)}
        m = _matrices(xp, design, n_periods, width, values, kwargs)
        return loglik_periods(xp, *(values[k] for k in base), **m)

    fields = tuple(DataField(n, "real", description="time-varying covariate data") for n in names)
    return ModelSpec(
        name=f"pareto_nbd_dyncov[{design.key};periods={n_periods}x{float(width)!r}]",
        title="Pareto/NBD with time-varying covariates",
        params=params,
        data=fields,
        loglik=loglik,
        reference="Bachmann, Meierer & Näf (2021), Marketing Science 40(4)",
    )


def simulate_periods(rng, r, alpha, s, beta, *, length, log_w, log_v):
    """Draw histories from the extended Pareto/NBD on given period matrices (customers x periods).

    ``length`` holds each period's time inside the customer's window (0, T], in order (0
    outside it); ``log_w``/``log_v`` the purchase/dropout log-multipliers per period. Returns
    ``frequency``, ``recency``, ``after`` (each period's time in (t_x, T]), ``counts`` (repeat
    purchases per period: the covariates at the purchases are ``counts @ z``) and ``alive``.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate_periods(np.random.default_rng(0), 0.5, 5.0, 0.5, 10.0, length=np.ones((3, 4)),
    ...                      log_w=np.zeros((3, 4)), log_v=np.zeros((3, 4)))
    >>> bool(np.all(d["counts"].sum(axis=1) == d["frequency"])), bool(np.all(d["after"] <= 1.0))
    (True, True)
    """
    length = np.asarray(length, dtype=float)
    n = length.shape[0]
    w, v = np.exp(log_w) * np.ones_like(length), np.exp(log_v) * np.ones_like(length)
    lam = rng.gamma(r, 1.0 / alpha, n)
    mu = rng.gamma(s, 1.0 / beta, n)
    end = np.cumsum(length, axis=1)
    start = end - length
    T = end[:, -1]
    # death where mu B(tau) reaches an Exp(1) draw; B is piecewise linear
    target = rng.exponential(1.0, n) / mu
    b_end = np.cumsum(length * v, axis=1)
    b_start = b_end - length * v
    inside = (target[:, None] > b_start) & (target[:, None] <= b_end) & (length > 0)
    death_at = np.where(inside, start + (target[:, None] - b_start) / v, np.inf).min(axis=1)
    death = np.where(target > b_end[:, -1], np.inf, death_at)
    active = np.clip(np.minimum(death, T)[:, None] - start, 0.0, length)
    counts = rng.poisson(lam[:, None] * w * active).astype(float)
    # the last purchase: the latest of the counts in the last period with any
    has = counts > 0
    k_last = np.where(has.any(axis=1), length.shape[1] - 1 - np.argmax(has[:, ::-1], axis=1), 0)
    rows = np.arange(n)
    c_last = counts[rows, k_last]
    u = rng.random(n) ** (1.0 / np.maximum(c_last, 1.0))
    recency = np.where(has.any(axis=1), start[rows, k_last] + active[rows, k_last] * u, 0.0)
    after = np.clip(end - np.maximum(start, recency[:, None]), 0.0, length)
    return {"frequency": counts.sum(axis=1), "recency": recency, "T": T, "after": after, "counts": counts,
            "alive": (death > T).astype(float)}
