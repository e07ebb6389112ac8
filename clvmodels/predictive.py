r"""Predictive intervals: where each customer's *realised* purchases and spend will fall.

The HDI that :meth:`~clvmodels.estimators.TransactionModel.expected_purchases` reports for a
posterior is an interval of an *expectation*: it says how well the data pin down the
customer's expected number of purchases, and it shrinks towards a point as the parameters
become known. It never says how many purchases the customer will actually make. That number
is random even when the parameters are known exactly (a Poisson process, a dropout coin), and
its interval does not shrink with more data. This module gives that second interval:

.. math::

    P(Y(t) = n \mid \text{history}) = \int P(Y(t) = n \mid \text{history}, \theta)\,
    p(\theta \mid \text{data})\, d\theta,

the model's conditional purchase pmf averaged over the fit's parameter draws (one draw for a
maximum-likelihood fit: the parameters are then taken as known). The realised value of the
next ``t`` is the sum of the spends of those purchases. Under Gamma-Gamma, given a
customer's :math:`x` repeat spends of mean :math:`\bar z`, the rate :math:`\nu` of her spends is
:math:`\mathrm{Gamma}(px + q,\ \gamma + x\bar z)` (shape, rate; the prior
:math:`\mathrm{Gamma}(q, \gamma)` updated by :math:`x` gamma observations of shape :math:`p`),
and each future spend is :math:`\mathrm{Gamma}(p, \nu)`, so the sum of :math:`n` future spends is
:math:`\mathrm{Gamma}(pn, \nu)`. The value interval is simulated from these, in blocks of
customers so memory stays bounded.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from clvmodels import backend, defaults, predict, value
from clvmodels.checks import check_number, check_probability
from clvmodels.data.compress import compress
from clvmodels.estimators import SpendModel, TransactionModel
from clvmodels.models import gamma_gamma
from clvmodels.models.covariates import individual_params
from clvmodels.units import normalize_unit

__all__ = ["purchase_pmf", "predictive_interval", "value_interval", "TAIL_MASS"]

#: The conditional pmf is summed over n = 0, 1, ... until the mass left beyond is below this.
TAIL_MASS = 1e-6
#: A block's pmf holds (rows x counts) numbers besides the draws x rows evaluations: rows are
#: taken this many times fewer than the prediction engine's blocks, so a block of a point fit
#: with a few hundred counts stays in tens of MB.
_PMF_ROW_FACTOR = 32


def _draws(fit, max_draws: int | None) -> tuple[dict[str, np.ndarray], int]:
    """The fit's draws as columns (draws x 1), thinned evenly to at most ``max_draws``."""
    flat = predict.flat_draws(fit)
    n = next(iter(flat.values())).shape[0]
    if max_draws is not None and n > max_draws:
        keep = np.linspace(0, n - 1, max_draws).round().astype(int)
        flat = {k: v[keep] for k, v in flat.items()}
        n = max_draws
    return {k: v[:, None] if v.ndim == 1 else v for k, v in flat.items()}, n


def _pmf_block(fn, theta, n_draws: int, rows: dict[str, np.ndarray], t: float, max_n: int,
               tail_mass: float = TAIL_MASS) -> np.ndarray:
    """Mixed pmf of one block of distinct rows: rows x (N + 1), N where every row's tail is < ``tail_mass``.

    Only the rows whose tail is still too heavy are evaluated at the next n, so a block of
    mostly light buyers costs little even when one customer needs hundreds of terms.
    """
    n_rows = len(next(iter(rows.values())))
    columns, total = [], np.zeros(n_rows)
    active = np.arange(n_rows)
    for k in range(max_n + 1):
        sub = {name: v[active] for name, v in rows.items()}
        values = predict.evaluate(fn, theta, sub, n_draws, n=np.asarray(float(k)), t=t).mean(axis=0)
        column = np.zeros(n_rows)
        column[active] = values
        columns.append(column)
        total[active] += values
        active = active[1.0 - total[active] >= tail_mass]
        if active.size == 0:
            break
    pmf = np.column_stack(columns)
    if active.size:
        warnings.warn(
            f"For {active.size} distinct customer history(ies) the purchase probabilities up to max_n={max_n} sum to "
            f"{total[active].min():.6g} < 1 - {tail_mass:g}: either the customers buy that often (pass a larger max_n) "
            f"or the model's formula loses digits at some parameter draws (extreme draws of a poorly identified fit). "
            f"The missing mass is left out of the intervals.", UserWarning, stacklevel=3,
        )
    # a probability outside [0, 1] or a total above 1 means the formula lost its digits (seen
    # for BG/NBD at asymptotic draws with a, b > 1e16); an interval read from it would be wrong
    if not (np.all(pmf >= -1e-9) and np.all(pmf <= 1.0 + 1e-9) and np.all(pmf.sum(axis=1) <= 1.0 + 1e-6)):
        raise FloatingPointError(
            "The conditional purchase probabilities are not valid probabilities (NaN, negative, or summing to more "
            "than 1) for some customers: at some parameter draws the model's formula cannot be evaluated accurately "
            "(for example draws of a, b above 1e16, which the asymptotic normal of a poorly identified fit gives). "
            "Use the point fit, a posterior from sample(...), or more data."
        )
    return pmf


def _transaction_inputs(model, data, t, max_n, max_draws):
    if not isinstance(model, TransactionModel):
        raise TypeError(
            f"The 'model' parameter must be a fitted transaction model (BetaGeo, ParetoNBD, ModifiedBetaGeo, "
            f"BetaGeoBetaBinom). Got {type(model).__name__} instead."
        )
    fit = model._require_fit()
    t = check_number("t", t, low=0, where="predictive_interval")
    max_n = int(check_number("max_n", max_n, low=1, integer=True, where="predictive_interval"))
    if max_draws is not None:
        max_draws = int(check_number("max_draws", max_draws, low=1, integer=True, where="predictive_interval"))
    index, arrays = model._validated(data, for_fit=False)
    fn = model._prediction("conditional_probability_of_purchases", "customer")
    theta, n_draws = _draws(fit, max_draws)
    return fit, t, max_n, index, arrays, fn, theta, n_draws


def purchase_pmf(model, data: pd.DataFrame, t: float, *, max_n: int = 10_000,
                 max_draws: int | None = 250, tail_mass: float = TAIL_MASS) -> pd.DataFrame:
    r"""Each customer's predictive distribution of the number of purchases in the next ``t``.

    :math:`P(Y(t) = n \mid \text{history})` for :math:`n = 0, 1, \dots, N`, where :math:`N` is the
    first count beyond which less than ``tail_mass`` (default :data:`TAIL_MASS`, 1e-6) of the
    probability is left for every customer. From a posterior (or :meth:`~clvmodels.estimators.CLVModel.sample_asymptotic`
    of a maximum-likelihood fit) the pmf is averaged over the parameter draws, so parameter
    uncertainty is included; from a point fit the parameters are taken as known.

    Parameters
    ----------
    model : TransactionModel
        A fitted BetaGeo, ParetoNBD, ModifiedBetaGeo or BetaGeoBetaBinom.
    data : DataFrame
        Customer summary with the columns the model reads.
    t : float
        Length of the forecast period, in the model's time unit (opportunities for BG/BB).
    max_n : int
        Largest count evaluated; customers whose tail is still heavier than 1e-6 there keep
        the mass missing (the rows then sum to less than 1).
    max_draws : int or None
        Posterior draws used, thinned evenly (None: all).
    tail_mass : float
        Probability left beyond the last count, in (0, 1).

    Returns
    -------
    DataFrame
        One row per customer (indexed like ``data``), one column per count ``n``.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> s = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 30.43], "T": [38.86, 38.86]})
    >>> pmf = purchase_pmf(bg, s, t=39)
    >>> pmf.iloc[:, :3].round(3).to_numpy().tolist()
    [[0.855, 0.11, 0.024], [0.445, 0.239, 0.144]]
    >>> bool(abs(pmf.sum(axis=1) - 1).max() < 1e-6)
    True
    """
    fit, t, max_n, index, arrays, fn, theta, n_draws = _transaction_inputs(model, data, t, max_n, max_draws)
    tail_mass = check_number("tail_mass", tail_mass, low=0, low_open=True, high=1, high_open=True, where="purchase_pmf")
    unique, _, inverse = compress(arrays)
    n_unique = len(next(iter(unique.values())))
    blocks = [(sl, _pmf_block(fn, theta, n_draws, {k: v[sl] for k, v in unique.items()}, t, max_n, tail_mass))
              for sl in predict.row_slices(n_unique, n_draws, predict.CHUNK_BYTES, _PMF_ROW_FACTOR)]
    width = max(b.shape[1] for _, b in blocks) if blocks else 1
    pmf = np.zeros((n_unique, width))
    for sl, block in blocks:
        pmf[sl, :block.shape[1]] = block
    frame = pd.DataFrame(pmf[inverse], index=index, columns=pd.RangeIndex(width, name="n"))
    frame.attrs.update({"quantity": "conditional_probability_of_purchases", "t": t, "n_draws": n_draws})
    return frame


def _equal_tailed(cdf: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower, upper count and exact coverage of the equal-tailed interval of each row's cdf.

    ``lower`` is the smallest n with F(n) >= (1 - prob)/2, ``upper`` the smallest n with
    F(n) >= (1 + prob)/2, so each tail outside holds at most (1 - prob)/2 and the coverage
    F(upper) - F(lower - 1) is at least ``prob`` (more, since counts are discrete).
    """
    alpha = (1.0 - prob) / 2.0
    rows = np.arange(cdf.shape[0])
    lower = (cdf < alpha).sum(axis=1)
    upper = (cdf < 1.0 - alpha).sum(axis=1)
    reached = upper < cdf.shape[1]
    upper_c = np.minimum(upper, cdf.shape[1] - 1)
    below = np.where(lower > 0, cdf[rows, np.maximum(lower - 1, 0)], 0.0)
    coverage = cdf[rows, upper_c] - below
    return lower.astype(float), np.where(reached, upper, np.inf), coverage


def _spend_inputs(spend_model, data):
    if not isinstance(spend_model, SpendModel):
        raise TypeError(f"The 'spend_model' parameter must be a fitted GammaGamma model. Got {type(spend_model).__name__} instead.")
    fit = spend_model._require_fit()
    _, arrays = spend_model._validated(data, for_fit=False)
    draws = predict.flat_draws(fit)
    return fit, arrays, {k: np.asarray(v, dtype=float) for k, v in draws.items()}


def predictive_interval(
    model,
    data: pd.DataFrame,
    t: float,
    *,
    prob: float = 0.9,
    spend_model=None,
    n_sims: int = 4000,
    max_n: int = 10_000,
    max_draws: int | None = 250,
    random_seed: int | None = None,
) -> pd.DataFrame:
    r"""Per customer: the interval of the *realised* purchases (and value) in the next ``t``.

    Two different questions have two different intervals:

    - the **HDI of the expectation** (``expectation_hdi_lower``/``_upper``, from a posterior):
      where the customer's *expected* number of purchases lies, given how well the data pin
      the parameters down. It narrows to a point as the data grow.
    - the **predictive interval** (``purchases_lower``/``_upper``): where the number of
      purchases the customer will *actually make* lies, with probability ``prob``. It
      includes the randomness of buying and dropping out, so it stays wide however much data
      there is; an interval of 0 to 3 for a customer expected to buy 1.2 times is normal.

    The purchase interval is equal-tailed and exact: read from the cumulative conditional
    pmf (:func:`purchase_pmf`), each tail outside holds at most ``(1 - prob) / 2``. Counts
    are whole numbers, so the coverage achieved is at least ``prob``, usually more; it is
    given per customer in ``purchases_coverage``. From a posterior (or a maximum-likelihood
    fit after :meth:`~clvmodels.estimators.CLVModel.sample_asymptotic`) the pmf is averaged
    over the parameter draws, so the interval includes parameter uncertainty. From a plain
    maximum-likelihood fit the parameters are treated as known: the interval is then
    slightly too narrow for customers whose parameters the data barely determine.

    With a ``spend_model`` (Gamma-Gamma) the realised *value* of the next ``t`` (the sum of the
    spends of the purchases made, undiscounted) is simulated, ``n_sims`` times per customer:
    the number of purchases from the pmf above, the customer's spend rate from her Gamma-Gamma
    posterior at a random draw of the spend fit, the purchases' spends given that rate. Its
    equal-tailed interval is ``value_lower``/``value_upper`` (quantiles of the simulations;
    the lower end is 0 for every customer with P(no purchase) > (1 - prob)/2), next to the
    expected value (expected purchases x expected spend, in closed form) and the simulations'
    mean (which agrees with it to Monte-Carlo error).

    Parameters
    ----------
    model : TransactionModel
        Fitted purchase model: BetaGeo, ParetoNBD, ModifiedBetaGeo or BetaGeoBetaBinom.
    data : DataFrame
        Customer summary with the columns the models read.
    t : float
        Forecast length, in the model's time unit (opportunities for BG/BB).
    prob : float
        Probability of the intervals (0.9: 5 % outside on each side).
    spend_model : GammaGamma, optional
        Fitted spend model; adds the value columns.
    n_sims : int
        Simulations per customer for the value interval.
    max_n : int
        Largest purchase count evaluated (see :func:`purchase_pmf`); a customer whose upper
        end lies beyond it gets ``purchases_upper = inf``, with a warning.
    max_draws : int or None
        Parameter draws of a posterior used (thinned evenly; None: all of them).
    random_seed : int, optional
        Seed of the value simulation.

    Returns
    -------
    DataFrame
        Indexed like ``data``. Columns ``expected_purchases``, ``purchases_lower``,
        ``purchases_upper``, ``purchases_coverage``; from a fit with draws also
        ``expectation_hdi_lower``, ``expectation_hdi_upper`` (HDI of probability ``prob`` of
        the expected purchases); with a spend model also ``expected_value``,
        ``value_mean_simulated``, ``value_lower``, ``value_upper``. ``attrs`` record ``t``,
        ``prob``, ``n_draws`` and ``n_sims``.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> s = pd.DataFrame({"frequency": [0, 2, 10], "recency": [0.0, 30.43, 38.0], "T": [38.86] * 3})
    >>> pi = predictive_interval(bg, s, t=39, prob=0.9)
    >>> pi[["purchases_lower", "purchases_upper"]].astype(int).to_numpy().tolist()
    [[0, 1], [0, 4], [0, 15]]
    >>> bool((pi["purchases_coverage"] >= 0.9).all())
    True

    With a Gamma-Gamma spend model, the realised value too:

    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> s["monetary_value"] = [0.0, 20.0, 45.0]
    >>> pv = predictive_interval(bg, s, t=39, spend_model=gg, random_seed=1)
    >>> bool((pv["value_lower"] <= pv["expected_value"]).all() and (pv["expected_value"] <= pv["value_upper"]).all())
    True
    """
    prob = check_probability("prob", prob, where="predictive_interval")
    fit, t, max_n, index, arrays, fn, theta, n_draws = _transaction_inputs(model, data, t, max_n, max_draws)
    unique, _, inverse = compress(arrays)
    n_unique = len(next(iter(unique.values())))
    out = {name: np.empty(n_unique) for name in ("purchases_lower", "purchases_upper", "purchases_coverage")}
    spend = None
    if spend_model is not None:
        n_sims = int(check_number("n_sims", n_sims, low=1, integer=True, where="predictive_interval"))
        spend = _spend_inputs(spend_model, data)
        rng = np.random.default_rng(random_seed)
        value_lower, value_upper, value_mean = (np.empty(len(index)) for _ in range(3))
        # customers grouped by their distinct (x, t_x, T) row, so a block of distinct rows has
        # a contiguous range of customers and its pmf is built once and dropped after use
        order = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[order], np.arange(n_unique + 1))
    for sl in predict.row_slices(n_unique, n_draws, predict.CHUNK_BYTES, _PMF_ROW_FACTOR):
        pmf = _pmf_block(fn, theta, n_draws, {k: v[sl] for k, v in unique.items()}, t, max_n)
        cdf = np.cumsum(pmf, axis=1)
        lo, hi, cov = _equal_tailed(cdf, prob)
        out["purchases_lower"][sl], out["purchases_upper"][sl], out["purchases_coverage"][sl] = lo, hi, cov
        if spend is not None:
            pos = order[starts[sl.start]:starts[sl.stop]]
            _simulate_value(pos, inverse[pos] - sl.start, cdf, spend, prob, n_sims, rng,
                            value_lower, value_upper, value_mean)
    if np.isinf(out["purchases_upper"]).any():
        bad = np.isinf(out["purchases_upper"][inverse])
        warnings.warn(
            f"{int(bad.sum())} customer(s) (first: {', '.join(map(repr, index[bad][:5].tolist()))}) would need more than "
            f"max_n={max_n} purchases for the upper end of the interval; purchases_upper is inf for them. Pass a larger "
            f"max_n.", UserWarning, stacklevel=2,
        )
    frame = pd.DataFrame({}, index=index)
    expected = model.expected_purchases(data, t=t, hdi_prob=prob)
    if isinstance(expected, pd.DataFrame):
        frame["expected_purchases"] = expected["mean"].to_numpy()
        frame["expectation_hdi_lower"] = expected["hdi_lower"].to_numpy()
        frame["expectation_hdi_upper"] = expected["hdi_upper"].to_numpy()
    else:
        frame["expected_purchases"] = expected.to_numpy()
    for name, values in out.items():
        frame[name] = values[inverse]
    if spend is not None:
        e_spend = spend_model.expected_spend(data)
        e_spend = e_spend["mean"] if isinstance(e_spend, pd.DataFrame) else e_spend
        # the two fits' parameters are independent, so E[Y * Z] = E[Y] E[Z]
        frame["expected_value"] = frame["expected_purchases"].to_numpy() * e_spend.to_numpy()
        frame["value_mean_simulated"] = value_mean
        frame["value_lower"] = value_lower
        frame["value_upper"] = value_upper
    frame.attrs.update({"quantity": "predictive_interval", "t": t, "prob": prob, "n_draws": n_draws,
                        "n_sims": n_sims if spend is not None else 0})
    return frame


def _simulate_value(pos, rows, cdf, spend, prob, n_sims, rng, lower, upper, mean) -> None:
    """Fill the value interval of the customers ``pos`` (whose pmf rows are ``rows`` of ``cdf``).

    Blocks of customers keep the customers x simulations arrays under the prediction
    engine's chunk size.
    """
    _, arrays, draws = spend
    x_all, m_all = arrays["frequency"], arrays["monetary_value"]
    n_spend_draws = draws["p"].shape[0]
    # the cdf normalised to end at 1 (the truncated tail is < 1e-6), offset by row so that one
    # sorted search finds every simulation's count: row i occupies [i, i + 1)
    last = cdf[:, -1:]
    width = cdf.shape[1]
    step = max(1, predict.CHUNK_BYTES // (8 * n_sims * 4))
    for start in range(0, len(pos), step):
        p_idx, r_idx = pos[start:start + step], rows[start:start + step]
        k = len(p_idx)
        local = cdf[r_idx] / last[r_idx]
        local[:, -1] = 1.0
        flat = (local + np.arange(k)[:, None]).ravel()
        u = rng.random((k, n_sims)) + np.arange(k)[:, None]
        counts = np.searchsorted(flat, u.ravel(), side="right").reshape(k, n_sims) - (np.arange(k) * width)[:, None]
        counts = np.minimum(counts, width - 1)
        d = rng.integers(0, n_spend_draws, (k, n_sims))
        p, q, gamma = draws["p"][d], draws["q"][d], draws["gamma"][d]
        x, m = x_all[p_idx][:, None], m_all[p_idx][:, None]
        # nu | history from the Gamma-Gamma posterior; the sum of n spends | nu ~ Gamma(pn, rate nu)
        shape, rate = gamma_gamma.spend_rate_posterior(p, q, gamma, frequency=x, monetary_value=m)
        nu = rng.gamma(shape) / rate
        total = rng.gamma(p * counts) / nu
        alpha = (1.0 - prob) / 2.0
        lower[p_idx], upper[p_idx] = np.quantile(total, [alpha, 1.0 - alpha], axis=1)
        mean[p_idx] = total.mean(axis=1)


def _individual(spec, theta: dict[str, np.ndarray], rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each simulation's parameters of the plain model: a covariate spec's coefficients applied to its rows.

    ``simulate_future`` and the spend posterior are the plain model's, so a fit with covariates
    must give them every customer's own parameters (its predictions do this in their wrapper).
    """
    if spec.covariates is None:
        return theta
    return individual_params(backend.numpy, spec, theta, {col: rows[col] for col in spec.covariates.columns})


def value_interval(
    transaction_model,
    spend_model,
    data: pd.DataFrame,
    *,
    horizon: int = defaults.HORIZON,
    unit: str = defaults.HORIZON_UNIT,
    discount_rate: float = defaults.DISCOUNT_RATE,
    margin: float = defaults.MARGIN,
    prob: float = 0.9,
    n_sims: int = 1000,
    model_unit: str | None = None,
    random_seed: int | None = None,
    chunk_bytes: int = predict.CHUNK_BYTES,
) -> pd.DataFrame:
    r"""Per customer: the interval of the *realised* discounted value over the horizon, beside its expectation.

    :func:`clvmodels.value.lifetime_value` gives each customer's CLV, the *expected* discounted
    margin (and, from a fit with draws, the HDI of that expectation). This gives where the
    discounted margin she will *actually* bring falls, with probability ``prob``: it includes
    whether she is still alive, when and how often she buys, and what each purchase costs her,
    so it stays wide however well the parameters are known. It is simulated ``n_sims`` times
    per customer, conditional on her history:

    1. a parameter draw of each fit (one for a point fit; the two fits paired draw by draw, as
       :func:`~clvmodels.value.lifetime_value` pairs them);
    2. alive at the calibration end with the model's ``probability_alive``;
    3. if alive, her purchases in each period of the horizon from the model's
       ``simulate_future`` (her latent rates drawn from their posterior given her history);
    4. her spend rate from its Gamma-Gamma posterior
       (:func:`clvmodels.models.gamma_gamma.spend_rate_posterior`) and each purchase's spend given
       it (the :math:`n_k` spends of period :math:`k` sum to :math:`\mathrm{Gamma}(p n_k, \nu)`);
    5. value :math:`= m \sum_k (1+d)^{-k} \times` (spend in period :math:`k`): purchases are
       discounted to the end of their period, the periods and factors being those of
       :func:`~clvmodels.value.lifetime_value` (the same code builds them), so the simulations'
       mean agrees with its CLV up to Monte-Carlo error.

    The interval is read from the simulations' quantiles. The value has an atom at 0 (no
    purchase in the horizon). Where that atom holds less than ``(1 - prob)/2`` the interval is
    equal-tailed (quantiles ``(1 - prob)/2`` and ``(1 + prob)/2``); otherwise its lower end is
    0, nothing lies below it, and the upper end is the ``prob`` quantile, so the interval still
    holds ``prob`` (an equal-tailed one would hold ``(1 + prob)/2``); where the atom alone holds
    more than ``prob`` the interval is [0, 0]. The fraction of simulations inside is given per
    customer in ``clv_realised_coverage``.

    Memory is bounded: customers are simulated in blocks of about
    ``chunk_bytes / (8 (n_sims (6H + 16) + D))`` customers (H periods, D draws), so one block's
    arrays stay near ``chunk_bytes`` (8 MiB by default) whatever the number of customers;
    only four numbers per customer are kept.

    Parameters
    ----------
    transaction_model : TransactionModel
        Fitted BetaGeo, ParetoNBD or ModifiedBetaGeo (a point fit, ``sample_asymptotic`` draws
        of one, or a posterior).
    spend_model : GammaGamma
        Fitted spend model.
    data : DataFrame
        Customer summary with the columns both models read (``attrs`` as
        :func:`clvmodels.rfm_summary` sets them, for calendar months).
    horizon, unit, discount_rate, margin, model_unit
        As in :func:`clvmodels.value.lifetime_value`, with the same defaults
        (:mod:`clvmodels.defaults`: 12 months, 1 % a month, margin 1).
    prob : float
        Probability of the interval.
    n_sims : int
        Simulations per customer.
    random_seed : int, optional
        Seed of the simulation.
    chunk_bytes : int
        Approximate size of one block's arrays.

    Returns
    -------
    DataFrame
        Indexed like ``data``: ``clv`` (the expectation, as ``lifetime_value`` gives it; the mean
        of a posterior's), with draws also ``clv_hdi_lower``/``clv_hdi_upper`` (HDI of probability
        ``prob`` of the expectation); ``clv_realised_lower``, ``clv_realised_upper``,
        ``clv_realised_coverage`` and ``clv_realised_mean`` (the simulations' mean). ``attrs``
        record the settings.

    Examples
    --------
    >>> import clvmodels as clv, pandas as pd
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, unit="W")
    >>> gg = clv.GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> s = pd.DataFrame({"frequency": [0.0, 2.0, 10.0], "recency": [0.0, 30.43, 38.0], "T": [38.86] * 3,
    ...                   "monetary_value": [0.0, 20.0, 45.0]})
    >>> v = value_interval(bg, gg, s, horizon=12, unit="M", discount_rate=0.01, n_sims=20_000, random_seed=1)
    >>> v["clv_realised_lower"].tolist()  # each has more than a 5 % chance of buying nothing
    [0.0, 0.0, 0.0]
    >>> bool(((v["clv_realised_mean"] / v["clv"] - 1).abs() < 0.05).all())
    True
    >>> v["clv_realised_upper"].round(0).tolist()  # the 90 % quantile: the lower tail is empty
    [28.0, 90.0, 697.0]
    """
    prob = check_probability("prob", prob, where="value_interval")
    n_sims = int(check_number("n_sims", n_sims, low=1, integer=True, where="value_interval"))
    chunk_bytes = int(check_number("chunk_bytes", chunk_bytes, low=1, where="value_interval"))
    if not isinstance(transaction_model, TransactionModel):
        raise TypeError(f"The 'transaction_model' parameter must be a fitted BetaGeo, ParetoNBD or ModifiedBetaGeo. "
                        f"Got {type(transaction_model).__name__} instead.")
    simulate_future = transaction_model.spec.simulate_future
    if simulate_future is None:
        raise ValueError(
            f"value_interval needs a model that can simulate a customer's future given her history; "
            f"{transaction_model.spec.title} cannot (BetaGeo, ParetoNBD and ModifiedBetaGeo can). For its purchases "
            f"use predictive_interval(model, data, t=...), whose spend_model= gives the undiscounted value."
        )
    _spend_inputs(spend_model, data)  # a clear error for a spend model of the wrong kind
    transaction_model._require_fit()
    expected = value.lifetime_value(transaction_model, spend_model, data, horizon=horizon, unit=unit,
                                    discount_rate=discount_rate, margin=margin, model_unit=model_unit, hdi_prob=prob)
    margin = value._margin(margin)
    c = value._inputs(transaction_model, spend_model, data, horizon=horizon, unit=unit,
                      discount_rate=value._discount_rate(discount_rate), model_unit=model_unit)
    alive_fn = transaction_model._prediction("probability_alive", "customer")
    rng = np.random.default_rng(random_seed)
    n, H, D = len(c.index), len(c.edges), c.n_draws
    out = {k: np.empty(n) for k in ("clv_realised_lower", "clv_realised_upper", "clv_realised_coverage",
                                    "clv_realised_mean")}
    tail = (1.0 - prob) / 2.0
    # about 6H + 16 arrays of n_sims per customer live at once (counts, their cumulative sums and
    # spends per period; draws, coins, parameters and values per simulation), and D alive probabilities
    step = max(1, chunk_bytes // (8 * (n_sims * (6 * H + 16) + D)))
    for start in range(0, n, step):
        pos = np.arange(start, min(n, start + step))
        k = len(pos)
        rows = {name: v[pos] for name, v in c.t_arrays.items()}
        p_alive = predict.evaluate(alive_fn, c.t_theta, rows, D)  # draws x block
        d = rng.integers(0, D, (k, n_sims))
        alive = rng.random((k, n_sims)) < p_alive[d, np.arange(k)[:, None]]
        who, d_alive = np.nonzero(alive)[0], d[alive]
        theta = _individual(transaction_model.spec, {name: v[d_alive, 0] for name, v in c.t_theta.items()},
                            {name: v[who] for name, v in rows.items()})
        counts = simulate_future(rng, **theta, frequency=rows["frequency"][who], T=rows["T"][who], edges=c.edges)
        sp = _individual(spend_model.spec, {name: v[d_alive, 0] for name, v in c.s_theta.items()},
                         {name: v[pos][who] for name, v in c.s_arrays.items()})
        shape, rate = gamma_gamma.spend_rate_posterior(sp["p"], sp["q"], sp["gamma"],
                                                       frequency=c.s_arrays["frequency"][pos][who],
                                                       monetary_value=c.s_arrays["monetary_value"][pos][who])
        nu = rng.gamma(shape) / rate
        # the n_k spends of period k given nu sum to Gamma(p n_k, rate nu); shape 0 gives 0
        spend = rng.gamma(sp["p"][:, None] * counts) / nu[:, None]
        sims = np.zeros((k, n_sims))
        sims[alive] = margin * (spend @ c.factors)
        lo, hi, one_sided = np.quantile(sims, [tail, 1.0 - tail, prob], axis=1)
        # no value is below 0: where the lower end is the atom at 0 the lower tail is empty, so
        # the upper end moves in to the prob-quantile and the interval holds prob, not prob + tail
        hi = np.where(lo <= 0.0, one_sided, hi)
        out["clv_realised_lower"][pos], out["clv_realised_upper"][pos] = lo, hi
        out["clv_realised_coverage"][pos] = ((sims >= lo[:, None]) & (sims <= hi[:, None])).mean(axis=1)
        out["clv_realised_mean"][pos] = sims.mean(axis=1)
    frame = pd.DataFrame(index=c.index)
    if isinstance(expected, pd.DataFrame):
        frame["clv"] = expected["mean"].to_numpy()
        frame["clv_hdi_lower"] = expected["hdi_lower"].to_numpy()
        frame["clv_hdi_upper"] = expected["hdi_upper"].to_numpy()
    else:
        frame["clv"] = expected.to_numpy()
    for name in ("clv_realised_lower", "clv_realised_upper", "clv_realised_coverage", "clv_realised_mean"):
        frame[name] = out[name]
    frame.attrs.update({"quantity": "value_interval", "horizon": horizon, "unit": normalize_unit(unit),
                        "discount_rate": discount_rate, "margin": margin, "prob": prob, "n_sims": n_sims,
                        "n_draws": D, "horizon_model_units": float(c.edges[-1])})
    return frame
