r"""Correlated purchase and dropout rates: the Sarmanov mixing of a two-rate model.

Pareto/NBD's purchase rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` and dropout rate
:math:`\mu \sim \mathrm{Gamma}(s, \beta)` are independent. The Sarmanov family (as CLVTools'
``pnbd(..., use.cor = TRUE)`` [1]_, after Park & Fader 2004 and Glady, Lemmens & Croux 2015)
correlates them with one parameter :math:`\omega`:

.. math:: g(\lambda, \mu) = g_1(\lambda)\, g_2(\mu)\,
          [1 + \omega\, (e^{-\lambda} - L_A)(e^{-\mu} - L_B)],\qquad
          L_A = \left(\tfrac{\alpha}{\alpha+1}\right)^r,\ L_B = \left(\tfrac{\beta}{\beta+1}\right)^s,

a density for :math:`-1/\max(L_A L_B, (1-L_A)(1-L_B)) \le \omega \le 1/\max(L_A(1-L_B), (1-L_A)L_B)`.
Because :math:`e^{-\lambda} g_1(\lambda) = L_A\, g_1(\lambda; r, \alpha + 1)`, every
expectation under :math:`g` is a signed sum of the independent model's at
:math:`(\alpha, \beta)`, :math:`(\alpha+1, \beta)`, :math:`(\alpha, \beta+1)`,
:math:`(\alpha+1, \beta+1)` with weights :math:`1 + \omega L_A L_B, -\omega L_A L_B,
-\omega L_A L_B, \omega L_A L_B`: the likelihood, and each prediction conditional on a
history as a ratio of such sums. :func:`with_correlation` builds that from the plain
model's one likelihood and predictions. The rates are per time unit of the summary, so the
correlation the family can express depends on the unit (narrow for weekly data).

References
----------
.. [1] Meierer, Levin, Bachmann, Oblander, Näf and Näf (2025), CLVTools; Glady, Lemmens and
   Croux (2015), "Unveiling the relationship between the transaction timing, spending and
   dropout behavior of customers", IJRM 32(1).
"""

from __future__ import annotations

from dataclasses import replace

from clvmodels.models.spec import REAL, ModelSpec, Param

__all__ = ["with_correlation", "correlation", "omega_bounds", "OMEGA"]

#: The Sarmanov parameter's name among the model's parameters.
OMEGA = "omega"
_SHIFTS = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0))


def _mixtures(spec: ModelSpec) -> tuple[tuple[str, str], tuple[str, str]]:
    pairs = getattr(spec, "rate_mixtures", ())
    if len(pairs) != 2:
        raise ValueError(f"{spec.title} has no two gamma-mixed rates to correlate; the correlation is offered for "
                         f"Pareto/NBD.")
    return pairs


def _laplace(xp, shape, scale):
    # E[exp(-rate)] for rate ~ Gamma(shape, scale): (scale / (scale + 1))^shape
    return xp.exp(shape * (xp.log(scale) - xp.log1p(scale)))


def omega_bounds(xp, r, alpha, s, beta):
    """The interval of omega for which the Sarmanov mixing density is non-negative.

    Examples
    --------
    >>> from clvmodels import backend
    >>> lo, hi = omega_bounds(backend.numpy, 0.553, 10.578, 0.606, 11.669)
    >>> round(float(lo), 3), round(float(hi), 2)
    (-1.105, 21.57)
    """
    la, lb = _laplace(xp, r, alpha), _laplace(xp, s, beta)
    lower = -1.0 / xp.maximum(la * lb, (1.0 - la) * (1.0 - lb))
    upper = 1.0 / xp.maximum(la * (1.0 - lb), (1.0 - la) * lb)
    return lower, upper


def correlation(xp, r, alpha, s, beta, omega):
    r"""Corr(lambda, mu) implied by omega: :math:`\omega\, \frac{\sqrt r L_A}{1+\alpha} \frac{\sqrt s L_B}{1+\beta}`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(correlation(backend.numpy, 0.553, 10.578, 0.606, 11.669, 10.0)), 4)
    0.0357
    """
    return (omega * xp.sqrt(r) * _laplace(xp, r, alpha) / (1.0 + alpha)
            * xp.sqrt(s) * _laplace(xp, s, beta) / (1.0 + beta))


def _weights(xp, omega, la, lb):
    w = omega * la * lb
    return (1.0 + w, -w, -w, w)


def _shifted(params, pairs, da, db):
    (_, a_name), (_, b_name) = pairs
    out = dict(params)
    out[a_name] = params[a_name] + da
    out[b_name] = params[b_name] + db
    return out


def with_correlation(spec: ModelSpec, *, prior_sigma: float = 2.0) -> ModelSpec:
    """The spec of ``spec`` with correlated purchase and dropout rates (one more parameter, ``omega``).

    Apply it to the plain model, then covariates on top
    (``with_covariates(with_correlation(pareto_nbd.SPEC), design)``), so that the shifts act
    on each customer's own rates.

    Examples
    --------
    >>> from clvmodels.models import pareto_nbd
    >>> cor = with_correlation(pareto_nbd.SPEC)
    >>> cor.param_names, cor.key
    (('r', 'alpha', 's', 'beta', 'omega'), 'pareto_nbd+correlation')
    """
    pairs = _mixtures(spec)
    if spec.covariates is not None or spec.variant:
        raise ValueError("Add the correlation to the plain model first, then covariates.")
    plain_ll = spec.loglik
    names = spec.param_names

    (ra, a), (sb, b) = pairs

    def split(xp, kwargs):
        # the plain parameters, and the four shifted models' weights (kwargs keeps the rest)
        params = {k: kwargs.pop(k) for k in names}
        omega = kwargs.pop(OMEGA)
        la, lb = _laplace(xp, params[ra], params[a]), _laplace(xp, params[sb], params[b])
        return params, omega, _weights(xp, omega, la, lb)

    def loglik(xp, **kwargs):
        params, omega, weights = split(xp, kwargs)
        lls = [plain_ll(xp, **_shifted(params, pairs, da, db), **kwargs) for da, db in _SHIFTS]
        ratio = sum(c * xp.exp(ll - lls[0]) for c, ll in zip(weights, lls))
        lower, upper = omega_bounds(xp, params[ra], params[a], params[sb], params[b])
        valid = (omega >= lower) & (omega <= upper) & (ratio > 0)
        # outside the bounds g is no density: no likelihood there (the optimiser and NUTS step back)
        return xp.where(valid, lls[0] + xp.log(xp.where(valid, ratio, 1.0)), -xp.inf)

    def conditional(fn):
        def wrapped(xp, **kwargs):
            params, _, weights = split(xp, kwargs)
            data = {d: kwargs[d] for d in spec.data_names}
            num = den = 0.0
            ll0 = None
            # E[f | history] = sum_jk c_jk E_jk[f L] / sum_jk c_jk E_jk[L], each E_jk[f L] = f_jk L_jk
            for c, (da, db) in zip(weights, _SHIFTS):
                shifted = _shifted(params, pairs, da, db)
                ll = plain_ll(xp, **shifted, **data)
                ll0 = ll if ll0 is None else ll0
                weight = c * xp.exp(ll - ll0)
                num = num + weight * fn(xp, **shifted, **kwargs)
                den = den + weight
            return num / den
        return wrapped

    def population(fn):
        def wrapped(xp, **kwargs):
            params, _, weights = split(xp, kwargs)
            return sum(c * fn(xp, **_shifted(params, pairs, da, db), **kwargs) for c, (da, db) in zip(weights, _SHIFTS))
        return wrapped

    predictions = {}
    for name, pred in spec.predictions.items():
        wrap = conditional if pred.scope == "customer" else population
        fn = wrap(pred.fn)
        fn.__name__, fn.__doc__ = pred.fn.__name__, pred.fn.__doc__
        predictions[name] = replace(pred, fn=fn)
    params = spec.params + (Param(OMEGA, support=REAL, symbol=r"\omega",
                                  prior=("Normal", {"mu": 0.0, "sigma": float(prior_sigma)}), init=0.0),)
    out = replace(spec, params=params, predictions={}, variant="correlation", simulate=None)
    object.__setattr__(out, "loglik", loglik)
    object.__setattr__(out, "predictions", predictions)
    return out
