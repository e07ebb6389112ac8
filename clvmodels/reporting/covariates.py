"""The report's "What drives purchases and dropout" section: covariate coefficients in plain words.

A covariate model (:mod:`clvmodels.models.covariates`) scales each customer's parameters by
``exp(sign * coefficient * z)``. For a manager the coefficient itself means little; what it
does to a customer does. :func:`covariate_effects` turns each coefficient into the change it
makes, with its interval:

- purchases (``alpha`` of the purchase rate's gamma distribution, sign -1): the mean purchase
  rate ``r / alpha`` is multiplied by ``exp(coefficient)`` per unit of the covariate;
- Pareto/NBD dropout (``beta``, sign -1): the mean dropout rate ``s / beta`` likewise;
- Gamma-Gamma spend (``gamma``, sign +1): the mean spend per purchase ``p gamma / (q - 1)``
  likewise;
- BG/NBD and MBG/NBD dropout (``a`` and ``b`` of the beta distribution of the dropout
  probability, sign +1 each): the two coefficients of a covariate act together, so their
  effect is told as the change in the mean dropout probability ``a / (a + b)`` of a customer
  whose other covariates are 0 (the baseline), from ``z = 0`` to ``z = 1``.

:func:`effect_sentence` is the one place these effects are put in words ("Customers with
channel = 1 buy 80% more often than those with channel = 0 [94% interval +40% to +131%]").

Intervals: a posterior's HDI; for a maximum-likelihood fit the asymptotic normal (Wald)
interval of the coefficient (its standard error from the fit's covariance), mapped through
``exp`` (a monotone map keeps its coverage). The BG/NBD dropout effect, a function of four
parameters, takes its interval from parameter draws: the posterior's, or for a
maximum-likelihood fit draws from the asymptotic normal (``sample_asymptotic``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from clvmodels.intervals import hdi
from clvmodels.models.covariates import coefficients
from clvmodels.reporting.labels import percent
from clvmodels.reporting.section import Section

__all__ = ["Effect", "coefficient_table", "covariate_effects", "effect_sentence", "strongest_driver",
           "covariate_section"]

#: How a parameter's covariate factor reaches the mean it governs: the mean is proportional to
#: ``parameter ** power`` (rate r/alpha and s/beta: -1; Gamma-Gamma's mean spend p gamma/(q-1): +1).
_MEAN_POWER = {"alpha": -1.0, "beta": -1.0, "gamma": 1.0}
#: What each (process, parameter) governs, for the coefficient table.
_ACTS_ON = {("purchase", "alpha"): "purchase rate (scale alpha)", ("dropout", "beta"): "dropout rate (scale beta)",
            ("dropout", "a"): "dropout probability (beta shape a)",
            ("dropout", "b"): "dropout probability (beta shape b)", ("spend", "gamma"): "mean spend (scale gamma)"}
#: Draws from the asymptotic normal for the interval of a maximum-likelihood fit's BG/NBD dropout effect.
EFFECT_DRAWS = 1000


@dataclass(frozen=True)
class Effect:
    """What one covariate does to one process of a fitted model.

    ``change`` is the relative change of the process's mean (0.8 = 80% more) for one unit of
    the covariate (from 0 to 1 for a 0/1 covariate), ``lower``/``upper`` its interval
    (``None`` when the fit has none). ``kind`` is ``"rate"`` (the mean is multiplied by
    ``exp(coefficient)``) or ``"probability"`` (BG/NBD's mean dropout probability, whose
    values at 0 and 1 are ``baseline`` and ``changed``).
    """

    model: str
    process: str
    column: str
    coefficients: tuple[str, ...]
    kind: str
    change: float
    lower: float | None = None
    upper: float | None = None
    binary: bool = False
    shared: bool = False
    baseline: float | None = None
    changed: float | None = None

    @property
    def established(self) -> bool:
        """Whether the interval excludes no change (0)."""
        return self.lower is not None and self.upper is not None and (self.lower > 0 or self.upper < 0)


def _is_fit_with_draws(model) -> bool:
    return model.fit_.n_draws > 1


def coefficient_table(model, hdi_prob: float = 0.94) -> pd.DataFrame:
    """The coefficients of a covariate model: covariate, what it acts on, estimate, sd/se and interval.

    A posterior gives its mean, sd and HDI of probability ``hdi_prob``; a maximum-likelihood
    fit its estimate, standard error and the asymptotic normal interval of coverage ``hdi_prob``.

    Examples
    --------
    >>> import clvmodels as clv
    >>> m = clv.ParetoNBD.from_params(r=0.5, alpha=10.0, s=0.6, beta=12.0, **{"purchase:channel": 0.5},
    ...                               covariates={"purchase": ["channel"]})
    >>> coefficient_table(m)[["covariate", "acts on", "estimate"]]
                     covariate                      acts on  estimate
    coefficient
    purchase:channel   channel  purchase rate (scale alpha)       0.5
    """
    design = model.covariates_
    if not design:
        return pd.DataFrame(columns=["covariate", "acts on", "estimate", "sd", "lower", "upper"])
    draws = _is_fit_with_draws(model)
    table = model.summary(hdi_prob)
    rows = {}
    for coef in coefficients(model.spec.plain, design):
        row = table.loc[coef.name]
        acts = "; ".join(_ACTS_ON.get((p, param), param) for param, _ in coef.links
                         for p in _processes_of(model.spec.plain, param))
        lo, hi = (row["hdi_lower"], row["hdi_upper"]) if draws else (row.iloc[2], row.iloc[3])
        rows[coef.name] = {"covariate": coef.column, "acts on": acts,
                           "estimate": float(row["mean"] if draws else row["estimate"]),
                           "sd": float(row["sd"] if draws else row["se"]), "lower": float(lo), "upper": float(hi)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("coefficient")


def _processes_of(spec, param: str) -> list[str]:
    return [p for p, links in spec.covariate_links.items() if any(name == param for name, _ in links)]


def _param_draws(model, drawn):
    """Parameter name -> flat draws, from the model's posterior, ``drawn`` or asymptotic draws; None without."""
    source = model if _is_fit_with_draws(model) else drawn
    if source is None or not _is_fit_with_draws(source):
        try:
            source = model.sample_asymptotic(EFFECT_DRAWS, random_seed=0)
        except ValueError:  # no usable covariance: the effect has no interval
            return None
    return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in source.fit_.draws().items()}


def _is_binary(data, column: str) -> bool:
    if data is None or column not in getattr(data, "columns", ()):
        return False
    values = np.unique(np.asarray(data[column], dtype=float))
    return bool(np.isin(values, (0.0, 1.0)).all())


def covariate_effects(model, data: pd.DataFrame | None = None, *, hdi_prob: float = 0.94,
                      drawn=None) -> list[Effect]:
    """The effect of each covariate on each process of ``model``, with its interval.

    Parameters
    ----------
    model : CLVModel
        A fitted covariate model (maximum likelihood or posterior); a model without covariates
        has no effects.
    data : DataFrame, optional
        The summary with the covariate columns: a column holding only 0 and 1 is worded as a
        comparison of two groups.
    hdi_prob : float
        Probability of the intervals.
    drawn : CLVModel, optional
        Parameter draws of a maximum-likelihood ``model`` (its ``sample_asymptotic``) for the
        interval of a BG/NBD dropout effect; drawn here when not given.

    Returns
    -------
    list of Effect
        In the order of the coefficients: purchase, dropout, spend, then shared. The change
        is at the estimate (a posterior's means); its interval as the module docstring says.

    Examples
    --------
    >>> import clvmodels as clv
    >>> m = clv.ParetoNBD.from_params(r=0.5, alpha=10.0, s=0.6, beta=12.0, **{"purchase:channel": np.log(1.5)},
    ...                               covariates={"purchase": ["channel"]})
    >>> e = covariate_effects(m)[0]
    >>> e.process, e.column, round(e.change, 6), e.lower
    ('purchase', 'channel', 0.5, None)
    """
    design = model.covariates_
    if not design:
        return []
    plain = model.spec.plain
    table = coefficient_table(model, hdi_prob)
    point = dict(model.params_)
    has_interval = not table[["lower", "upper"]].isna().any(axis=None)
    out: list[Effect] = []
    draws = None
    done: set[tuple[str, str]] = set()
    for coef in coefficients(plain, design):
        shared = coef.name.startswith("shared:")
        for process, links in plain.covariate_links.items():
            mine = [(param, sign) for param, sign in coef.links if (param, sign) in links]
            if not mine or (process, coef.column) in done:
                continue
            common = {"model": model.spec.title, "process": process, "column": coef.column,
                      "binary": _is_binary(data, coef.column), "shared": shared}
            if len(links) == 1 and links[0][0] in _MEAN_POWER:
                param, sign = links[0]
                scale = _MEAN_POWER[param] * sign  # the mean is multiplied by exp(scale * coefficient)
                row = table.loc[coef.name]
                ends = sorted(float(np.expm1(scale * row[k])) for k in ("lower", "upper")) if has_interval else None
                out.append(Effect(coefficients=(coef.name,), kind="rate",
                                  change=float(np.expm1(scale * row["estimate"])),
                                  lower=ends[0] if ends else None, upper=ends[1] if ends else None, **common))
            elif {param for param, _ in links} == {"a", "b"}:
                # both beta shapes move: the effect is one of the mean dropout probability a / (a + b)
                names = [c.name for c in coefficients(plain, design) if c.column == coef.column
                         and any((p, s) in links for p, s in c.links)]
                done.add((process, coef.column))

                def probability(values, names=names):
                    a, b = values["a"], values["b"]
                    ga = sum(values[n] for n in names if any(p == "a" for p, _ in _links(plain, design, n)))
                    gb = sum(values[n] for n in names if any(p == "b" for p, _ in _links(plain, design, n)))
                    a1, b1 = a * np.exp(ga), b * np.exp(gb)
                    return a / (a + b), a1 / (a1 + b1)

                p0, p1 = probability(point)
                lower = upper = None
                if has_interval:
                    draws = draws if draws is not None else _param_draws(model, drawn)
                    if draws is not None:
                        d0, d1 = probability(draws)
                        lo, hi = hdi(d1 / d0 - 1.0, hdi_prob)
                        lower, upper = float(lo[0]), float(hi[0])
                out.append(Effect(coefficients=tuple(names), kind="probability", change=float(p1 / p0 - 1.0),
                                  lower=lower, upper=upper, baseline=float(p0), changed=float(p1), **common))
    return out


def _links(plain, design, name: str):
    return next(c.links for c in coefficients(plain, design) if c.name == name)


def _size(change: float) -> str:
    """``0.234`` -> ``"23%"``; below 10% one decimal (``"4.2%"``)."""
    return percent(abs(change), 0 if abs(change) >= 0.095 else 1)


def _signed(change: float) -> str:
    digits = 0 if abs(change) >= 0.095 else 1
    return f"{change * 100:+.{digits}f}%"


def effect_sentence(effect: Effect, hdi_prob: float = 0.94, *, others: bool = False) -> str:
    """One effect in plain words, with its interval.

    A 0/1 covariate compares the customers with 1 to those with 0; any other covariate is
    told per unit. With ``others`` the sentence says the other covariates are held equal.

    Examples
    --------
    >>> effect_sentence(Effect("Pareto/NBD", "purchase", "channel", ("purchase:channel",), "rate", 0.234,
    ...                        0.12, 0.35, binary=True))
    'Customers with channel = 1 buy 23% more often than those with channel = 0 [94% interval +12% to +35%].'
    >>> effect_sentence(Effect("Pareto/NBD", "dropout", "age", ("dropout:age",), "rate", -0.05, -0.2, 0.1))
    'Each unit more of age goes with a 5.0% lower dropout rate [94% interval -20% to +10%; it includes no change, so the data do not establish this effect].'
    """
    col, up = effect.column, effect.change >= 0
    size = _size(effect.change)
    if effect.binary:
        base, _, level = col.partition("=")
        who, than = ((f"Customers with {base} = {level}", f" than the reference group of {base}") if level
                     else (f"Customers with {col} = 1", f" than those with {col} = 0"))
    else:
        who = than = None
    if effect.process == "purchase":
        text = (f"{who} buy {size} {'more' if up else 'less'} often{than}" if who else
                f"Each unit more of {col} goes with {size} {'more' if up else 'fewer'} purchases")
    elif effect.process == "dropout" and effect.kind == "probability":
        p0, p1 = percent(effect.baseline), percent(effect.changed)
        if abs(effect.change) < 1e-12:
            text = (f"{who or f'Customers with more {col}'} have the same mean chance of dropping out after a "
                    f"purchase ({p0}): the coefficient scales both shapes of its beta distribution alike")
        elif who:
            text = (f"{who} have a {size} {'higher' if up else 'lower'} mean chance of dropping out after a purchase "
                    f"({p1} vs {p0}){than}")
        else:
            text = (f"Each unit more of {col} goes with a {size} {'higher' if up else 'lower'} mean chance of "
                    f"dropping out after a purchase ({p1} at {col} = 1 vs {p0} at 0)")
    elif effect.process == "dropout":
        stay = "they leave sooner" if up else "they stay longer"
        text = (f"{who} have a {size} {'higher' if up else 'lower'} dropout rate{than} ({stay})" if who else
                f"Each unit more of {col} goes with a {size} {'higher' if up else 'lower'} dropout rate")
    else:
        text = (f"{who} spend {size} {'more' if up else 'less'} per purchase on average{than}" if who else
                f"Each unit more of {col} goes with a {size} {'higher' if up else 'lower'} mean spend per purchase")
    extras = []
    if effect.shared:
        extras.append("one coefficient shared by purchases and dropout")
    if others:
        extras.append("other covariates equal")
    if extras:
        text += f" ({'; '.join(extras)})"
    if effect.lower is not None and effect.upper is not None:
        interval = f"{hdi_prob:.0%} interval {_signed(effect.lower)} to {_signed(effect.upper)}"
        if not effect.established:
            interval += "; it includes no change, so the data do not establish this effect"
        text += f" [{interval}]"
    return text + "."


def strongest_driver(effects: list[Effect], hdi_prob: float = 0.94) -> str | None:
    """One line on the largest effect whose interval excludes no change (None when there is none).

    "Largest" is the largest factor ``|log(1 + change)|``: per unit of the covariate, so a
    continuous covariate's effect is that of one unit.

    Examples
    --------
    >>> a = Effect("BG/NBD", "purchase", "channel", ("purchase:channel",), "rate", 0.8, 0.4, 1.3, binary=True)
    >>> b = Effect("BG/NBD", "purchase", "gender", ("purchase:gender",), "rate", -0.9, -0.95, 0.2, binary=True)
    >>> strongest_driver([a, b])
    'Strongest driver: customers with channel = 1 buy 80% more often than those with channel = 0 [94% interval +40% to +130%].'
    >>> strongest_driver([b]) is None
    True
    """
    known = [e for e in effects if e.established]
    if not known:
        return None
    best = max(known, key=lambda e: abs(np.log1p(e.change)))
    sentence = effect_sentence(best, hdi_prob)
    return f"Strongest driver: {sentence[0].lower()}{sentence[1:]}"


def covariate_section(model, spend_model, data: pd.DataFrame, *, hdi_prob: float = 0.94,
                      drawn=(None, None)) -> tuple[Section | None, list[Effect]]:
    """The "What drives purchases and dropout" section, or None when neither model has covariates.

    Returns the section and the effects it tells (for the executive summary's strongest driver).

    Examples
    --------
    >>> import clvmodels as clv
    >>> bg = clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> covariate_section(bg, None, None)
    (None, [])
    """
    models = [m for m in (model, spend_model) if m is not None and m.covariates_]
    if not models:
        return None, []
    s = Section("drivers", "What drives purchases and dropout")
    s.lead = ("Which customer characteristics go with buying more often, staying longer or spending more, estimated "
              "from the data with each characteristic's interval. Effects are associations in these customers, not "
              "proof that changing a characteristic would change behaviour.")
    effects: list[Effect] = []
    for m, d in zip((model, spend_model), drawn):
        if m is None or not m.covariates_:
            continue
        mine = covariate_effects(m, data, hdi_prob=hdi_prob, drawn=d)
        effects += mine
        several = len(m.covariates_.columns) > 1
        s.bullets += [effect_sentence(e, hdi_prob, others=several) for e in mine]
        table = coefficient_table(m, hdi_prob).rename(columns={
            "covariate": "Covariate", "acts on": "Acts on",
            "estimate": "Posterior mean" if _is_fit_with_draws(m) else "Estimate",
            "sd": "Posterior sd" if _is_fit_with_draws(m) else "Std. error",
            "lower": f"{hdi_prob:.0%} interval, lower", "upper": f"{hdi_prob:.0%} interval, upper"}
        ).rename_axis("Coefficient")
        kind = ("posterior HDI" if _is_fit_with_draws(m) else
                "asymptotic normal interval of the maximum-likelihood estimate (estimate ± z × standard error)")
        s.tables.append({"title": f"{m.spec.title}: coefficients", "html": table.to_html(
            border=0, escape=True, float_format=lambda v: f"{v:.3f}", na_rep="–"),
            "note": f"Intervals: {kind}. A customer's parameter is the baseline (all covariates 0) times "
                    f"exp(± coefficient × covariate); a positive coefficient means more purchases, earlier dropout or "
                    f"higher spend."})
    if any(e.kind == "probability" for e in effects):
        s.notes.append("BG/NBD-type dropout: the covariate moves both shapes (a, b) of the beta distribution of each "
                       "customer's chance of dropping out after a purchase; the sentence gives its mean, a / (a + b), "
                       "for customers whose other covariates are 0, and its interval comes from draws of the "
                       "parameters.")
    return s, effects
