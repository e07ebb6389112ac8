r"""Gamma-Gamma model of spend per transaction.

A customer's transaction values are gamma with shape :math:`p` and rate :math:`\nu`; across
customers :math:`\nu \sim \mathrm{Gamma}(q, \gamma)`. The mean :math:`\bar z` of a customer's
:math:`x` repeat transactions is sufficient. Assumes spend is independent of the purchase
process.

References
----------
.. [1] Fader, P. S. and Hardie, B. G. S. (2013). "The Gamma-Gamma model of monetary value".
.. [2] Colombo, R. and Jiang, W. (1999). "A stochastic RFM model". Journal of Interactive
   Marketing 13(3), 2-12.
"""

from __future__ import annotations

import numpy as np

from clvmodels.models.spec import DataField, ModelSpec, Param

__all__ = ["GammaGamma", "loglik", "expected_spend", "spend_rate_posterior"]


def loglik(xp, p, q, gamma, *, frequency, monetary_value):
    r"""Log-density of the mean spend :math:`\bar z` of :math:`x` transactions, equation (3) of [1]_.

    .. math::

        f(\bar z \mid p, q, \gamma, x) = \frac{\Gamma(px+q)}{\Gamma(px)\Gamma(q)}
        \frac{\gamma^q \bar z^{px-1} x^{px}}{(\gamma + x\bar z)^{px+q}}

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(loglik(backend.numpy, 6.25, 3.74, 15.44, frequency=2, monetary_value=20.0)), 4)
    -3.5074
    """
    x, m = frequency, monetary_value
    px = p * x
    return (
        xp.gammaln(px + q) - xp.gammaln(px) - xp.gammaln(q)
        + q * xp.log(gamma) + (px - 1.0) * xp.log(m) + px * xp.log(x)
        - (px + q) * xp.log(gamma + x * m)
    )


def expected_spend(xp, p, q, gamma, *, frequency, monetary_value):
    r"""Expected mean transaction value given x repeat transactions of mean :math:`\bar z`, equation (5) of [1]_.

    .. math:: E[Z \mid p, q, \gamma, \bar z, x] = \frac{p(\gamma + x\bar z)}{px + q - 1}

    Customers with no repeat transaction (x = 0) get the population mean
    :math:`p\gamma/(q-1)`, which is the same formula at x = 0. The posterior of the
    customer's rate is Gamma(px + q, ...), whose inverse has a mean only when
    :math:`px + q > 1`; otherwise the expectation is infinite (returned as ``inf``, where the
    formula would give a negative number).

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(expected_spend(backend.numpy, 6.25, 3.74, 15.44, frequency=0, monetary_value=0.0)), 2)
    35.22
    >>> float(expected_spend(backend.numpy, 6.25, 0.8, 15.44, frequency=0, monetary_value=0.0))
    inf
    """
    shape, rate = spend_rate_posterior(p, q, gamma, frequency=frequency, monetary_value=monetary_value)
    denominator = shape - 1.0
    return xp.where(denominator > 0, p * rate / denominator, xp.inf)


def spend_rate_posterior(p, q, gamma, *, frequency, monetary_value):
    r"""Shape and rate of the Gamma posterior of a customer's spend rate :math:`\nu` given x spends of mean :math:`\bar z`.

    The prior :math:`\nu \sim \mathrm{Gamma}(q, \gamma)` updated by x Gamma(p, :math:`\nu`)
    spends: :math:`\nu \mid x, \bar z \sim \mathrm{Gamma}(px + q,\ \gamma + x\bar z)`. The
    expected spend (:func:`expected_spend`) is the mean of :math:`p/\nu` under it, and the
    predictive intervals of value draw :math:`\nu` from it.

    Examples
    --------
    >>> shape, rate = spend_rate_posterior(6.25, 3.74, 15.44, frequency=2, monetary_value=30.0)
    >>> round(shape, 2), round(rate, 2)
    (16.24, 75.44)
    """
    return p * frequency + q, gamma + frequency * monetary_value


def simulate(rng, n, p, q, gamma, *, frequency=None):
    """Draw ``n`` customers' mean repeat spend from the Gamma-Gamma process.

    ``frequency`` (scalar or per-customer array, default 1..5 at random) gives each
    customer's number of repeat transactions; ``nu ~ Gamma(q, gamma)`` (rate ``gamma``) and
    each transaction value is ``Gamma(p, nu)``, so the mean of x values is ``Gamma(px, x nu)``.

    Examples
    --------
    >>> import numpy as np
    >>> d = simulate(np.random.default_rng(1), 4, 6.0, 4.0, 15.0, frequency=2)
    >>> d["frequency"].tolist(), bool(np.all(d["monetary_value"] > 0))
    ([2.0, 2.0, 2.0, 2.0], True)
    """
    x = rng.integers(1, 6, n).astype(float) if frequency is None else np.broadcast_to(np.asarray(frequency, float), (n,)).copy()
    nu = rng.gamma(q, 1.0 / gamma, n)
    return {"frequency": x, "monetary_value": rng.gamma(p * x, 1.0 / (x * nu))}


SPEC = ModelSpec(
    name="gamma_gamma",
    title="Gamma-Gamma",
    params=(
        Param("p", symbol="p", prior=("LogNormal", {"mu": 1.0, "sigma": 1.5})),
        Param("q", symbol="q", prior=("LogNormal", {"mu": 1.0, "sigma": 1.5})),
        Param("gamma", symbol=r"\gamma", prior=("LogNormal", {"mu": 3.0, "sigma": 3.0})),
    ),
    data=(
        DataField("frequency", "count", fit_kind="positive_count", description="repeat purchases x"),
        DataField("monetary_value", "nonnegative", fit_kind="positive", description="mean value of the repeat purchases"),
    ),
    loglik=loglik,
    predictions={"expected_spend": expected_spend},
    reference="Fader & Hardie (2013), The Gamma-Gamma model of monetary value",
    simulate=simulate,
    aliases=("gammagamma", "gg"),
    covariate_links={"spend": (("gamma", 1.0),)},
)
