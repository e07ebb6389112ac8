"""Every published number clvmodels must reproduce, in one place, with its source.

Transcribed from ``shared/REFERENCE.md`` (the team's list of published values). REFERENCE.md
names the papers but no page or table numbers, so ``where`` locates each value descriptively
(the part of the paper it comes from); check the paper before quoting a table number. Each value is
kept as the *string printed in the source*, so that a test's tolerance follows the printed
precision: :func:`printed_rtol` gives half a unit in the last printed digit relative to the
value (0.243 -> 2.1e-3). Use :func:`value` to get the float.

Tests import from here and say in their names which source they check
(``test_bgnbd_params_match_FHL2005_table``...). No number in this module is computed by
clvmodels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Published",
    "value",
    "printed_rtol",
    "CDNOW",
    "BGNBD_FHL2005",
    "BGNBD_INDIVIDUAL_FHL2005",
    "PARETO_NBD_FHL2005",
    "MBGNBD_BTYDPLUS",
    "GAMMA_GAMMA_FH2013",
    "GAMMA_GAMMA_FIRST_TEN",
    "BGBB_FHS2010",
    "SBG_FH2007_HIGH_END",
    "GGOMNBD_BG2012",
    "BDW_HIGH_END_MLE",
    "SBG_FH2007_REGULAR",
    "TRACKING_FHL2005",
]

FHL2005 = (
    'Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the '
    'Pareto/NBD model", Marketing Science 24(2), 275-284'
)
FH2013 = 'Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note, brucehardie.com)'
FHS2010 = (
    'Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual '
    'setting", Marketing Science 29(6), 1086-1108'
)
FH2007 = 'Fader & Hardie (2007), "How to project customer retention", J. Interactive Marketing 21(1), 76-90'
BTYDPLUS = "R package BTYDplus (Platzer), MBG/NBD estimates on the CDNOW sample (mbgcnbd vignette)"


def value(printed: str) -> float:
    """The float behind a printed number ('-9,582.4' -> -9582.4)."""
    return float(printed.replace(",", ""))


def printed_rtol(printed: str) -> float:
    """Half a unit in the last printed digit, relative to the value ('0.243' -> 2.06e-3).

    This is the largest relative difference between the exact value and what the source
    would print, so a correct implementation always passes and a 1-ulp-of-print error fails.
    """
    text = printed.replace(",", "").lstrip("+-")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** (-decimals) / abs(value(printed))


@dataclass(frozen=True)
class Published:
    """A published set of estimates.

    ``params`` and ``loglik`` are the printed strings; ``params_precise`` / ``loglik_precise``
    the higher-precision optimum where the source gives one.
    """

    model: str
    data: str
    params: dict[str, str]
    loglik: str | None
    source: str
    where: str
    params_precise: dict[str, str] = field(default_factory=dict)
    loglik_precise: str | None = None
    note: str = ""

    def values(self, precise: bool = False) -> dict[str, float]:
        """Parameter values as floats (the high-precision ones if asked and available)."""
        src = self.params_precise if (precise and self.params_precise) else self.params
        return {k: value(v) for k, v in src.items()}


# --------------------------------------------------------------------------- data conventions
CDNOW = {
    "source": FHL2005 + "; data from brucehardie.com (CDNOW_sample.txt), as shipped with lifetimes 0.11.3",
    "where": "data description of the CDNOW sample; REFERENCE.md 'Data conventions'",
    "unit": "W",
    "calibration_end": "1997-09-30",
    "observation_end": "1998-06-30",
    "n_customers": 2357,
    "sum_frequency": 2457,
    "n_zero_frequency": 1411,
    "T_first_seen_1997_01_01": "38.86",  # (Sep 30 - Jan 1) / 7 = 272 / 7 = 38.857...
    "holdout_repeat_purchases": 1882,
    "n_repeat_buyers": 946,  # customers with x > 0, the Gamma-Gamma fitting sample (Fader & Hardie 2013)
}

# --------------------------------------------------------------------------- parameter estimates
BGNBD_FHL2005 = Published(
    model="bgnbd",
    data="CDNOW sample, weeks, calibration to 1997-09-30",
    params={"r": "0.243", "alpha": "4.414", "a": "0.793", "b": "2.426"},
    loglik="-9582.4",
    params_precise={"r": "0.2425945", "alpha": "4.4136019", "a": "0.7929199", "b": "2.4258881"},
    loglik_precise="-9582.429",
    source=FHL2005,
    where="empirical analysis of the CDNOW sample, BG/NBD parameter estimates and log-likelihood; "
    "high-precision optimum from Hardie's BG/NBD spreadsheet (note 'Implementing the BG/NBD model in Excel')",
    note="The 7-digit optimum is itself not exactly stationary: the gradient of the total "
    "log-likelihood there is ~5e-4 in a and b (the surface is flat along a/b), and the exact "
    "optimum differs by up to ~8e-6 relative in b. Tests against it use rtol 2e-5.",
)

BGNBD_INDIVIDUAL_FHL2005 = {
    # a customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks
    "frequency": 2,
    "recency": 30.43,
    "T": 38.86,
    "t": 39,
    "expected_purchases": "1.226",
    "source": FHL2005 + "; Hardie's BG/NBD spreadsheet",
    "where": "conditional expectation example for one customer (x = 2, t_x = 30.43, T = 38.86)",
}

PARETO_NBD_FHL2005 = Published(
    model="pareto_nbd",
    data="CDNOW sample, weeks, calibration to 1997-09-30",
    params={"r": "0.553", "alpha": "10.578", "s": "0.606", "beta": "11.669"},
    loglik="-9595.0",
    params_precise={"r": "0.55315", "alpha": "10.57633", "s": "0.60625", "beta": "11.67150"},
    loglik_precise="-9594.976",
    source=FHL2005,
    where="empirical analysis of the CDNOW sample, Pareto/NBD parameter estimates and log-likelihood",
)

MBGNBD_BTYDPLUS = Published(
    model="mbgnbd",
    data="CDNOW sample, weeks, calibration to 1997-09-30",
    params={"r": "0.525", "alpha": "6.183", "a": "0.891", "b": "1.614"},
    loglik="-9582.1",
    source=BTYDPLUS,
    where="BTYDplus estimates (Batislam et al. 2007 used other data); the log-likelihood is given as "
    "'approximately -9582.1', so test it loosely (rtol of the printed 1 decimal)",
)

GAMMA_GAMMA_FH2013 = Published(
    model="gamma_gamma",
    data="CDNOW sample, the 946 customers with x > 0; spend = mean value of their repeat transactions",
    params={"p": "6.25", "q": "3.74", "gamma": "15.44"},
    loglik="-4055.92",
    source=FH2013,
    where="CDNOW example: parameter estimates and log-likelihood of the 946 repeat buyers",
)

GAMMA_GAMMA_FIRST_TEN = {
    # conditional expected spend of the first ten CDNOW sample customers (ids 1..10), at the
    # maximum-likelihood estimates; customers with x = 0 get the population mean p*gamma/(q-1)
    "customer_id": list(range(1, 11)),
    "expected_spend": ["24.65", "18.91", "35.17", "35.17", "35.17", "71.46", "18.91", "35.17", "27.28", "35.17"],
    "population_mean": "35.17",
    "source": FH2013 + "; the same ten values in the lifetimes 0.11.3 quickstart",
    "where": "conditional expectation table; REFERENCE.md 'Individual-level and aggregate checks'",
    "note": "35.17 is p*gamma/(q-1) at the full-precision optimum; at the rounded p=6.25, q=3.74, "
    "gamma=15.44 the same expression is 35.22, so compare these ten values with a fitted model.",
}

BGBB_FHS2010 = Published(
    model="bgbb",
    data="donations: 11,104 first-time 1995 donors, 6 annual repeat opportunities (1996-2001)",
    params={"alpha": "1.204", "beta": "0.750", "gamma": "0.657", "delta": "2.783"},
    loglik="-33225.6",
    source=FHS2010,
    where="donations example: BG/BB parameter estimates and log-likelihood",
)

SBG_FH2007_HIGH_END = Published(
    model="sbg",
    data='"High End" cohort, survival in years 1-7: .869 .743 .653 .593 .551 .517 .491',
    params={"alpha": "0.668", "beta": "3.806"},
    loglik=None,
    source=FH2007,
    where="shifted-beta-geometric example: estimates for the High End segment",
)
SBG_FH2007_HIGH_END_SURVIVAL = [".869", ".743", ".653", ".593", ".551", ".517", ".491"]

SBG_FH2007_REGULAR = Published(
    model="sbg",
    data='"Regular" cohort, survival in years 1-7: .631 .468 .382 .326 .289 .262 .241',
    params={"alpha": "0.704", "beta": "1.182"},
    loglik=None,
    source=FH2007,
    where="shifted-beta-geometric example: estimates for the Regular segment",
)
SBG_FH2007_REGULAR_SURVIVAL = [".631", ".468", ".382", ".326", ".289", ".262", ".241"]

# --------------------------------------------------------------------------- aggregate checks
TRACKING_FHL2005 = {
    # cumulative repeat transactions over weeks 1-78, model vs actual
    "bgnbd_max_relative_error": 0.04,  # "within about 4 %" (under-forecasts slightly)
    "pareto_nbd_max_relative_error": 0.02,  # "within about 2 %"
    "source": FHL2005,
    "where": "tracking plot of cumulative repeat transactions, weeks 1-78",
}


GGOMNBD_BG2012 = Published(
    model="ggompertz_nbd",
    data="CDNOW sample, weeks, calibration to 1997-09-30 (as FHL2005)",
    params={"r": "0.553", "alpha": "10.578", "b": "0.0002", "s": "0.603", "beta": "0.0026"},
    loglik="-9594.98",
    source='Bemmaor & Glady (2012), "Modeling purchasing behavior with sudden death: a flexible customer '
           'lifetime model", Management Science 58(5), 1012-1021',
    where="Table 2, p. 1018 (CDNOW)",
    note="the likelihood is flat along b -> 0; the optimum is reproduced with b held at 0.0002",
)

BDW_HIGH_END_MLE = Published(
    model="bdw",
    data=SBG_FH2007_HIGH_END.data,
    params={"alpha": "0.2143", "beta": "1.4266", "c": "1.7236"},
    loglik="-1605.31",
    source=FH2007 + " (the data); the estimates are clvmodels' maximum likelihood",
    where="BdW fitted to the High End cohort of 1,000, equal to an independent Nelder-Mead optimisation "
          "(tests/test_bdw.py)",
    note="no published BdW estimates in shared/REFERENCE.md: the contract checks use this verified optimum",
)
