"""What the data cannot tell: plain-language warnings about weakly identified parameters.

An optimiser can report convergence while the likelihood is nearly flat along some
parameters: the estimate is then one point on a long ridge, and figures that depend on it
(P(alive), CLV) rest on it. A parameter is *weakly identified* here when its 95 % Wald
interval, on the scale the optimiser works on (log for positive parameters, logit for
unit-interval ones), spans more than a factor of 100, or its standard error is not finite.

Each model family names its problems once below (which parameters, what they mean, what
follows for the forecasts, what helps), so that a fit gets one sentence per problem, in the
model's own terms, and never another model's sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from clvmodels.errors import warning_text
from clvmodels.models.spec import ModelSpec

__all__ = ["SPAN_LIMIT", "Problem", "PROBLEMS", "weak_parameters", "messages", "problems", "check"]

#: The largest ratio of the 95 % interval's ends (on the log or odds scale) of a parameter the data identify.
SPAN_LIMIT = 100.0
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Problem:
    """One identification problem of a model family: the parameters, and the sentence that explains it.

    ``what`` completes "These data do not identify ..."; ``consequence`` (text, or a function
    of the estimates) says what follows for the forecasts; ``advice`` and ``cli_advice`` say
    what helps, in Python and command-line terms.
    """

    params: tuple[str, ...]
    what: str
    consequence: str | Callable[[Mapping[str, float]], str]
    advice: str
    cli_advice: str

    def message(self, params: Mapping[str, float], cli: bool = False) -> str:
        """The warning sentence for estimates ``params`` (under 300 characters)."""
        names = " and ".join(self.params)
        consequence = self.consequence(params) if callable(self.consequence) else self.consequence
        return (f"These data do not identify {self.what} ({names}): {consequence}. "
                f"{self.cli_advice if cli else self.advice}")

    def warning(self, title: str, params: Mapping[str, float], cli: bool = False) -> str:
        """The same sentence as a warning's text: a short first line, then the consequence and the advice
        wrapped below it (:func:`clvmodels.errors.warning_text`)."""
        consequence = self.consequence(params) if callable(self.consequence) else self.consequence
        return warning_text(f"{title}: These data do not identify {self.what} ({' and '.join(self.params)}).",
                            f"{consequence[:1].upper()}{consequence[1:]}.", f"{self.cli_advice if cli else self.advice}.")


def _bg_dropout(params: Mapping[str, float]) -> str:
    # a / (a + b): the mean probability of dropping out after a purchase
    a, b = params.get("a", np.nan), params.get("b", np.nan)
    if a / (a + b) < 0.05:
        return "P(alive) is close to 1 for nearly everyone, so CLV rests on the purchase rate alone"
    return "P(alive), and with it CLV, rests on a dropout estimate the data hardly constrain"


def _dropout(a: str, b: str, consequence) -> Problem:
    return Problem((a, b), "how customers drop out", consequence,
                   f"A longer history, or a Bayesian fit (sample()) with an informative prior on {a} and {b}, helps",
                   "A longer history (a later --calibration-end, if the log allows), or --method mcmc, helps")


def _rates(a: str = "r", b: str = "alpha") -> Problem:
    return Problem((a, b), "how purchase rates differ between customers",
                   "forecasts for light and heavy buyers are uncertain, though the average rate is known",
                   f"More customers or a longer history, or a Bayesian fit (sample()) with a prior on {a} and {b}, "
                   f"helps",
                   "More customers or a longer history (a later --calibration-end), or --method mcmc, helps")


#: The identification problems of each model, by ``spec.name``; every parameter is in one problem.
PROBLEMS: dict[str, tuple[Problem, ...]] = {
    "bgnbd": (_rates(), _dropout("a", "b", _bg_dropout)),
    "mbgnbd": (_rates(), _dropout("a", "b", _bg_dropout)),
    "pareto_nbd": (_rates(), _dropout(
        "s", "beta", "how long customers stay is a guess, so P(alive) and CLV rest on an assumption the data cannot "
                     "check")),
    "bgbb": (
        Problem(("alpha", "beta"), "how the chance of a transaction differs between customers",
                "forecasts for frequent and rare buyers are uncertain",
                "More customers or more observed periods, or a Bayesian fit (sample()) with a prior, helps",
                "More customers or more observed periods, or --method mcmc, helps"),
        Problem(("gamma", "delta"), "how customers drop out",
                "P(alive) and the expected remaining lifetime, and with them CLV, are uncertain",
                "More observed periods, or a Bayesian fit (sample()) with a prior on gamma and delta, helps",
                "More observed periods (a later --calibration-end), or --method mcmc, helps"),
    ),
    "gamma_gamma": (
        Problem(("p",), "how much one customer's order values vary", "the spend forecasts' weight on each "
                "customer's own average is uncertain",
                "More repeat buyers, or a Bayesian fit (sample()) with a prior on p, helps",
                "More repeat buyers (a longer history), or --method mcmc, helps"),
        Problem(("q", "gamma"), "how average spend differs between customers",
                "how far each customer's expected spend is pulled toward the overall average is uncertain",
                "More repeat buyers, or a Bayesian fit (sample()) with a prior on q and gamma, helps",
                "More repeat buyers (a longer history), or --method mcmc, helps"),
    ),
    "sbg": (
        Problem(("alpha", "beta"), "how the churn probability differs between customers",
                "retention beyond the observed periods, and with it CLV, is uncertain",
                "More observed periods or customers, or a Bayesian fit (sample()) with a prior, helps",
                "More observed periods or customers, or --method mcmc, helps"),
    ),
}


def weak_parameters(spec: ModelSpec, params: Mapping[str, float], cov) -> list[str]:
    """The parameters whose 95 % Wald interval on the optimiser's scale spans more than :data:`SPAN_LIMIT`.

    The standard error on the unconstrained scale (log or logit) is the natural-scale one
    divided by the transform's Jacobian (the delta method backwards); the interval
    ``theta +- 1.96 se`` spans a factor ``exp(2 * 1.96 * se)`` on the natural (positive) or
    odds (unit-interval) scale. A parameter with a non-finite standard error is weak too;
    one held at a bound (zero variance) is not.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.bgnbd import SPEC
    >>> p = {"r": 0.24, "alpha": 4.4, "a": 0.8, "b": 2.4}
    >>> weak_parameters(SPEC, p, np.diag([0.01, 0.1, 0.04, 0.5]) ** 2)
    []
    >>> weak_parameters(SPEC, p, np.diag([0.01, 0.1, 0.04, 5.0]) ** 2)  # b's log-interval spans exp(4.1)
    ['b']
    """
    if cov is None:
        return []
    variances = np.diag(np.asarray(cov, dtype=float))
    weak = []
    for p, var in zip(spec.params, variances):
        value = float(params[p.name])
        with np.errstate(all="ignore"):
            se_theta = np.sqrt(var) / float(p.jacobian(value)) if var >= 0 else np.nan
        if not np.isfinite(se_theta) or np.exp(2 * _Z95 * se_theta) > SPAN_LIMIT:
            weak.append(p.name)
    return weak


def messages(spec: ModelSpec, params: Mapping[str, float], cov, *, converged: bool = True,
             cli: bool = False) -> list[str]:
    """One plain-language sentence per identification problem of these estimates (empty when none).

    Parameters
    ----------
    spec : ModelSpec
        The model.
    params : mapping
        The estimates by name.
    cov : array or None
        Their covariance on the natural scale (None: nothing to check).
    converged : bool
        Whether the optimiser converged. If not, only a finite covariance is read: without a
        positive definite Hessian there is nothing to say per parameter (the
        :class:`~clvmodels.errors.ConvergenceWarning` says what went wrong).
    cli : bool
        Give the advice in command-line terms (``--method mcmc``) instead of Python ones.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.bgnbd import SPEC
    >>> p = {"r": 0.24, "alpha": 4.4, "a": 0.01, "b": 50.0}
    >>> [m[:50] for m in messages(SPEC, p, np.diag([0.01, 0.1, 0.1, 500.0]) ** 2)]
    ['These data do not identify how customers drop out ']
    """
    return [problem.message(params, cli=cli) for problem in problems(spec, params, cov, converged=converged)]


def problems(spec: ModelSpec, params: Mapping[str, float], cov, *, converged: bool = True) -> list[Problem]:
    """The identification problems behind :func:`messages` (same arguments), as :class:`Problem` objects.

    Examples
    --------
    >>> import numpy as np
    >>> from clvmodels.models.bgnbd import SPEC
    >>> p = {"r": 0.24, "alpha": 4.4, "a": 0.01, "b": 50.0}
    >>> print(problems(SPEC, p, np.diag([0.01, 0.1, 0.1, 500.0]) ** 2)[0].warning("BG/NBD", p))
    BG/NBD: These data do not identify how customers drop out (a and b).
      P(alive) is close to 1 for nearly everyone, so CLV rests on the purchase rate alone.
      A longer history, or a Bayesian fit (sample()) with an informative prior on a and b, helps.
    """
    if cov is None or not converged and not np.all(np.isfinite(np.asarray(cov, dtype=float))):
        return []
    weak = set(weak_parameters(spec, params, cov))
    return [problem for problem in PROBLEMS.get(spec.name, ()) if weak.intersection(problem.params)]


def check(model, *, cli: bool = False) -> list[str]:
    """The identification messages of a fitted model (a point fit with a covariance; else empty).

    The same sentences a fit warns with (:class:`~clvmodels.errors.IdentificationWarning`)
    and records in ``fit_info_["identification"]``; ``cli=True`` gives command-line advice.

    Examples
    --------
    >>> import clvmodels as clv
    >>> check(clv.BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426))  # no covariance: nothing to say
    []
    """
    fit = model.fit_ if hasattr(model, "fit_") else model
    cov = getattr(fit, "cov", None)
    if cov is None or getattr(fit, "n_draws", 1) > 1:
        return []
    return messages(fit.spec, fit.params, cov, converged=getattr(fit, "converged", None) is not False, cli=cli)
