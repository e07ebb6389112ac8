r"""Comparing models fitted to the same customers.

For maximum-likelihood fits: log-likelihood, number of parameters, AIC
(:math:`2k - 2\log L`), BIC (:math:`k \log n - 2\log L`, with :math:`n` the number of
customers) and, for nested pairs, the likelihood-ratio test. For posteriors (``.sample``):
PSIS-LOO from the stored per-customer log-likelihood (ArviZ), reported as ``elpd_loo`` and on
the deviance scale ``looic`` = :math:`-2\,\mathrm{elpd}`, so that, as for AIC, smaller is
better.

Nesting among the transaction models: Pareto/NBD, BG/NBD and MBG/NBD are *not* nested in one
another (different dropout processes), so compare them by AIC/BIC/LOO; the likelihood-ratio
test is for a model against a restricted version of itself (e.g. a parameter held fixed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from clvmodels.evaluation import holdout_errors

__all__ = ["compare", "likelihood_ratio_test"]


def _name(model, given: str | None) -> str:
    return given if given is not None else type(model).__name__


def _point_fit(m, role: str) -> tuple[float, int]:
    """A maximum-likelihood fit's log-likelihood and number of free parameters, or why not."""
    if isinstance(m, tuple):
        return float(m[0]), int(m[1])
    if getattr(m, "loglik_", None) is None or m.fit_.n_draws > 1:
        raise ValueError(
            f"The {role} {type(m).__name__} has no maximum-likelihood log-likelihood; fit it with .fit(...) first "
            f"(posteriors are compared by LOO in clvmodels.compare)."
        )
    info = m.fit_info_
    if info.get("method") == "map" or info.get("penalizer"):
        how = "fit(method='map')" if info.get("method") == "map" else f"fit(penalizer={info['penalizer']})"
        raise ValueError(
            f"The {role} {type(m).__name__} was fitted with {how}: its estimates do not maximise the likelihood, "
            f"so the likelihood-ratio statistic is not chi-squared. Refit both models with .fit(data)."
        )
    return float(m.loglik_), len(m.spec.params)


def _check_nested(restricted, full) -> None:
    """Refuse fitted pairs that are not a model and a restriction of it, on the same customers."""
    if restricted.spec.name != full.spec.name:
        raise ValueError(
            f"{restricted.spec.title} is not nested in {full.spec.title} (different models); compare them by "
            f"AIC/BIC with clvmodels.compare, not by a likelihood-ratio test."
        )
    extra = [p for p in restricted.spec.param_names if p not in full.spec.param_names]
    if extra:
        raise ValueError(
            f"The restricted {restricted.spec.title} has parameters the full one lacks ({', '.join(extra)}), so it "
            f"is not nested in it. Pass the smaller model first: likelihood_ratio_test(restricted, full)."
        )
    for what, a, b in (("customers", restricted.n_customers_, full.n_customers_),
                       ("time unit", restricted.unit_, full.unit_)):
        if a != b:
            raise ValueError(f"The two fits differ in their {what} ({a} vs {b}); a likelihood-ratio test needs "
                             f"both models fitted to the same summary.")
    if (restricted.spec.data_names == full.spec.data_names
            and restricted.data_fingerprint_ != full.data_fingerprint_):
        raise ValueError("The two fits were made on different data; a likelihood-ratio test needs both models "
                         "fitted to the same summary.")


def likelihood_ratio_test(restricted, full, df: int | None = None) -> dict[str, float]:
    r"""Likelihood-ratio test of a restricted (nested) maximum-likelihood fit against a fuller one.

    :math:`D = 2(\log L_{\text{full}} - \log L_{\text{restricted}})` is asymptotically
    :math:`\chi^2` with ``df`` degrees of freedom (default: the difference in numbers of free
    parameters). For a restriction on the boundary of the parameter space the p-value is
    conservative; covariate coefficients are unbounded, so a plain model against the same
    model with covariates (the coefficients restricted to 0) is the regular case.

    Fitted models are checked for nesting: the same model (e.g. ``ParetoNBD()`` and
    ``ParetoNBD(purchase_covariates=[...])``), every parameter of the restricted one present in
    the full one, the same customers and time unit, and plain maximum likelihood (not
    ``method="map"`` or ``penalizer``, whose estimates do not maximise the likelihood).

    Parameters
    ----------
    restricted, full : fitted models, or (loglik, n_params) pairs
        The two fits, on the same data; pairs are taken as given.
    df : int, optional
        Degrees of freedom.

    Returns
    -------
    dict
        ``statistic``, ``df``, ``p_value``.

    Raises
    ------
    ValueError
        Models that are not nested, fitted to different customers, not fitted by maximum
        likelihood, or ``df <= 0``.

    Examples
    --------
    >>> likelihood_ratio_test((-9600.0, 3), (-9590.0, 4))["p_value"] < 1e-4
    True
    """
    ll0, k0 = _point_fit(restricted, "restricted")
    ll1, k1 = _point_fit(full, "full")
    if not isinstance(restricted, tuple) and not isinstance(full, tuple):
        _check_nested(restricted, full)
    df = int(df if df is not None else k1 - k0)
    if df <= 0:
        raise ValueError(f"The full model must have more free parameters than the restricted one (df={df}); pass df=... .")
    stat = max(0.0, 2.0 * (ll1 - ll0))
    return {"statistic": stat, "df": df, "p_value": float(stats.chi2.sf(stat, df))}


def _loo(model):
    import arviz as az

    post = model.posterior_
    if "log_likelihood" not in getattr(post, "children", {}):
        raise ValueError(
            f"The posterior of {type(model).__name__} has no per-customer log-likelihood; sample with "
            f"log_likelihood=True to compare it by LOO."
        )
    var = next(iter(post["log_likelihood"].data_vars))
    return az.loo(post, var_name=var, pointwise=True)


def _holdout_columns(out: pd.DataFrame, models: dict, holdout: pd.DataFrame) -> pd.DataFrame:
    """Add each model's holdout errors and the two rankings (fit criterion, holdout MAE)."""
    rows = {}
    for lab, m in models.items():
        e = holdout_errors(m, holdout).loc["all"]
        # the aggregate error is what customer-equity forecasts inherit; MAE is the individual one
        rows[lab] = {"holdout_mae": e["mae"], "holdout_rmse": e["rmse"], "holdout_bias": e["bias"],
                     "holdout_total_error": (e["expected"] - e["actual"]) / e["actual"] if e["actual"] else np.nan}
    out = out.join(pd.DataFrame.from_dict(rows, orient="index"))
    criterion = "looic" if "looic" in out else "aic"
    out.insert(0, f"rank_{'loo' if criterion == 'looic' else 'aic'}",
               out[criterion].rank(method="min").astype(int))
    out.insert(1, "rank_holdout", out["holdout_mae"].rank(method="min").astype(int))
    return out


def compare(*models, names: Sequence[str] | None = None, holdout: pd.DataFrame | None = None) -> pd.DataFrame:
    """One comparison table of models fitted to the same customers.

    Parameters
    ----------
    *models : fitted clvmodels models
        All maximum-likelihood fits (``.fit``) or all posteriors (``.sample``), on the same
        data (checked with each fit's data fingerprint where the models read the same columns).
    names : sequence of str, optional
        Row labels (default: class names).
    holdout : DataFrame, optional
        A calibration/holdout table of the same customers (``frequency_holdout``,
        ``duration_holdout``, as from ``rfm_summary(..., holdout_end=...)``). Adds each model's
        holdout errors of the conditional expected purchases (``holdout_mae``, ``holdout_rmse``,
        ``holdout_bias`` per customer, ``holdout_total_error`` the relative error of the total)
        and two rankings: ``rank_aic`` (or ``rank_loo``) by the fit criterion and
        ``rank_holdout`` by holdout MAE (1 = best; ties share the better rank). The rows stay
        sorted by the fit criterion, so a disagreement between the two ranks shows at a glance.

    Returns
    -------
    DataFrame
        Maximum likelihood: ``n_params``, ``loglik``, ``aic``, ``bic``, ``delta_aic`` and
        ``aic_weight`` (Akaike weights), sorted by AIC. Posteriors: ``elpd_loo``, ``se``,
        ``p_loo``, ``looic``, ``delta_looic``, ``elpd_diff`` (to the best model) and ``dse`` (the
        standard error of that difference, from the paired per-customer elpd), sorted by ``looic``.

    Examples
    --------
    >>> import clvmodels as clv
    >>> s = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount",
    ...                     unit="W", calibration_end="1997-09-30")
    >>> table = clv.compare(clv.BetaGeo().fit(s), clv.ParetoNBD().fit(s), clv.ModifiedBetaGeo().fit(s))
    >>> table.index.tolist()
    ['ModifiedBetaGeo', 'BetaGeo', 'ParetoNBD']
    >>> table["aic"].round(1).tolist()
    [19172.2, 19172.9, 19198.0]

    With a holdout period, the same table ranks the models by their forecast errors too:

    >>> h = clv.rfm_summary(clv.datasets.load_cdnow(), "customer_id", "date", "amount", unit="W",
    ...                     calibration_end="1997-09-30", observation_end="1998-06-30")
    >>> ranked = clv.compare(clv.BetaGeo().fit(h), clv.ParetoNBD().fit(h), holdout=h)
    >>> ranked[["rank_aic", "rank_holdout"]].to_dict("index")
    {'BetaGeo': {'rank_aic': 1, 'rank_holdout': 2}, 'ParetoNBD': {'rank_aic': 2, 'rank_holdout': 1}}
    """
    if not models:
        raise ValueError("compare needs at least one fitted model.")
    labels = list(names) if names is not None else [_name(m, None) for m in models]
    if len(labels) != len(models) or len(set(labels)) != len(labels):
        raise ValueError(f"Give one distinct name per model; got {labels} for {len(models)} models.")
    bayes = [m.fit_.n_draws > 1 for m in models]
    if any(bayes) and not all(bayes):
        raise ValueError(
            "Compare either maximum-likelihood fits (AIC/BIC) or posteriors (LOO), not a mix: "
            + ", ".join(f"{lab}={'posterior' if b else 'MLE'}" for lab, b in zip(labels, bayes))
        )
    by_columns: dict[tuple, set] = {}
    for m in models:
        fp = getattr(m, "data_fingerprint_", None)
        if fp is not None:
            by_columns.setdefault(m.spec.data_names, set()).add(fp)
    clash = [cols for cols, fps in by_columns.items() if len(fps) > 1]
    # a plain model and a covariate model read different columns, so their fingerprints cannot
    # be compared; the number of customers can
    sizes = {m.n_customers_ for m in models if getattr(m, "n_customers_", None) is not None}
    if len(sizes) > 1:
        counts = ", ".join(f"{lab}: {m.n_customers_:g} customers" for lab, m in zip(labels, models))
        raise ValueError(f"The models were fitted to different data ({counts}); information criteria are only "
                         f"comparable on the same customers.")
    if clash:
        raise ValueError(
            f"The models were fitted to different data (columns {', '.join(clash[0])} differ between fits); "
            f"information criteria are only comparable on the same customers."
        )
    if all(bayes):
        rows, pointwise = [], {}
        for lab, m in zip(labels, models):
            res = _loo(m)
            pointwise[lab] = np.asarray(res.elpd_i, dtype=float).ravel()
            rows.append({"model": lab, "elpd_loo": float(res.elpd), "se": float(res.se), "p_loo": float(res.p),
                         "looic": -2.0 * float(res.elpd)})
        out = pd.DataFrame(rows).set_index("model").sort_values("looic")
        out["delta_looic"] = out["looic"] - out["looic"].min()
        # each model's se is on the scale of the whole elpd; a gap between models is judged by
        # the se of the paired per-customer differences (Vehtari, Gelman & Gabry 2017, eq. 24)
        best = pointwise[out.index[0]]
        out["elpd_diff"] = out["elpd_loo"] - out["elpd_loo"].iloc[0]
        out["dse"] = [float(np.sqrt(best.size * np.var(best - pointwise[lab]))) for lab in out.index]
        out.index.name = None
        return out if holdout is None else _holdout_columns(out, dict(zip(labels, models)), holdout)
    rows = []
    for lab, m in zip(labels, models):
        ll = getattr(m, "loglik_", None)
        n = getattr(m, "n_customers_", None)
        if ll is None or n is None:
            raise ValueError(f"{lab} is not fitted by maximum likelihood (no loglik_); call .fit(data) first.")
        k = len(m.spec.params)
        rows.append({"model": lab, "n_params": k, "loglik": float(ll), "aic": 2 * k - 2 * float(ll),
                     "bic": k * np.log(float(n)) - 2 * float(ll)})
    out = pd.DataFrame(rows).set_index("model").sort_values("aic")
    out["delta_aic"] = out["aic"] - out["aic"].min()
    w = np.exp(-0.5 * out["delta_aic"])
    out["aic_weight"] = w / w.sum()
    out.index.name = None
    return out if holdout is None else _holdout_columns(out, dict(zip(labels, models)), holdout)
