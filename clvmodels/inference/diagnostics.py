"""Convergence diagnostics of a posterior: one tidy table, and one warning per failed check that says what to do.

Thresholds follow Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat for assessing convergence of MCMC", Bayesian
Analysis 16(2): rank-normalised split R-hat at most 1.01, bulk and tail effective sample size
at least 100 per chain; no divergent transitions; and an estimated Bayesian fraction of
missing information (E-BFMI, Betancourt 2016) of at least 0.3 in every chain.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from clvmodels.errors import ConvergenceWarning, warning_text

__all__ = ["RHAT_MAX", "ESS_PER_CHAIN", "BFMI_MIN", "diagnostics_table", "warn_if_unconverged"]

RHAT_MAX = 1.01
ESS_PER_CHAIN = 100
BFMI_MIN = 0.3

_ADVICE = {
    "r_hat": "the chains disagree: sample longer (more tune and draws) or check the model's identification",
    "ess_bulk": "too few effective draws for the posterior mean: increase draws",
    "ess_tail": "too few effective draws for the intervals: increase draws",
    "divergences": "the sampler hit regions it cannot explore: raise target_accept (e.g. 0.95) or use priors "
                   "that rule out extreme values",
    "bfmi": "the momentum resampling explores the energy poorly: longer tuning, or reparametrise (e.g. "
            "tighter priors)",
}
#: The same advice in command-line options (``clvmodels fit --method mcmc``).
_CLI_ADVICE = {
    "r_hat": "the chains disagree: sample longer (larger --tune and --draws) or check the model's identification",
    "ess_bulk": "too few effective draws for the posterior mean: increase --draws",
    "ess_tail": "too few effective draws for the intervals: increase --draws",
    "divergences": "the sampler hit regions it cannot explore: a longer --tune may help; from Python, raise "
                   "target_accept (e.g. 0.95) or use priors that rule out extreme values",
    "bfmi": "the momentum resampling explores the energy poorly: a longer --tune, or tighter priors (from Python)",
}
_LABELS = {"r_hat": "R-hat", "ess_bulk": "bulk effective sample size", "ess_tail": "tail effective sample size",
           "divergences": "divergent transitions", "bfmi": "E-BFMI"}


def diagnostics_table(tree: xr.DataTree) -> pd.DataFrame:
    """R-hat, bulk/tail ESS per parameter, divergences and E-BFMI per chain, with thresholds.

    Parameters
    ----------
    tree : DataTree
        A posterior with ``posterior`` and (for MCMC) ``sample_stats`` groups.

    Returns
    -------
    DataFrame
        One row per check and parameter (or chain), columns ``check``, ``parameter``,
        ``value``, ``threshold``, ``ok``. Approximations (ADVI, Pathfinder) have no chains to
        compare: their rows are left out.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> post = xr.Dataset({"r": (("chain", "draw"), rng.normal(size=(4, 500)))})
    >>> stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool)),
    ...                     "energy": (("chain", "draw"), rng.normal(size=(4, 500)))})
    >>> t = diagnostics_table(xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}))
    >>> t["check"].unique().tolist(), bool(t["ok"].all())
    (['r_hat', 'ess_bulk', 'ess_tail', 'divergences', 'bfmi'], True)
    """
    import arviz as az

    post = tree["posterior"].to_dataset()
    n_chain = int(post.sizes.get("chain", 1))
    rows = []
    if n_chain > 1:
        rhat = az.rhat(post)
        bulk = az.ess(post, method="bulk")
        tail = az.ess(post, method="tail")
        ess_min = ESS_PER_CHAIN * n_chain
        for name in post.data_vars:
            rows.append(("r_hat", name, float(rhat[name]), f"<= {RHAT_MAX}", float(rhat[name]) <= RHAT_MAX))
        for name in post.data_vars:
            rows.append(("ess_bulk", name, float(bulk[name]), f">= {ess_min}", float(bulk[name]) >= ess_min))
        for name in post.data_vars:
            rows.append(("ess_tail", name, float(tail[name]), f">= {ess_min}", float(tail[name]) >= ess_min))
    if "sample_stats" in tree.children:
        stats = tree["sample_stats"].to_dataset()
        if "diverging" in stats:
            n_div = int(np.asarray(stats["diverging"].values).sum())
            rows.append(("divergences", "all", float(n_div), "== 0", n_div == 0))
        if "energy" in stats and stats.sizes.get("draw", 0) > 2:
            bfmi = np.asarray(az.bfmi(tree)["energy"].values, dtype=float).reshape(-1)
            chains = stats["chain"].values if "chain" in stats.coords else np.arange(bfmi.size)
            for c, value in zip(chains, bfmi):
                rows.append(("bfmi", f"chain {c}", float(value), f">= {BFMI_MIN}", bool(value >= BFMI_MIN)))
    return pd.DataFrame(rows, columns=["check", "parameter", "value", "threshold", "ok"])


def warn_if_unconverged(table: pd.DataFrame, title: str, *, stacklevel: int = 3) -> bool:
    """Issue one :class:`~clvmodels.errors.ConvergenceWarning` per failed check, naming the values and the fix.

    Returns True when all checks pass.

    Examples
    --------
    >>> t = pd.DataFrame([("r_hat", "r", 1.2, "<= 1.01", False)],
    ...                  columns=["check", "parameter", "value", "threshold", "ok"])
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_if_unconverged(t, "BG/NBD")
    False
    >>> print(w[0].message)
    The BG/NBD posterior may not be reliable: R-hat (want <= 1.01).
      r_hat of r is 1.2: the chains disagree: sample longer (more tune and draws) or check the
      model's identification. See model.diagnostics() for the full table.
    """
    bad = table[~table["ok"].astype(bool)]
    if bad.empty:
        return True
    for check, group in bad.groupby("check", sort=False):
        headline = (f"The {title} posterior may not be reliable: {_LABELS.get(check, check)} "
                    f"(want {group['threshold'].iloc[0]}).")
        items = ", ".join(f"{check} of {row.parameter} is {row.value:.4g}" for row in group.itertuples())

        python = warning_text(headline, f"{items}: {_ADVICE.get(check, 'see the diagnostics')}. See "
                                        f"model.diagnostics() for the full table.")
        cli = warning_text(headline, f"{items}: {_CLI_ADVICE.get(check, 'see the diagnostics')}.")
        warnings.warn(ConvergenceWarning(python, cli_message=cli), stacklevel=stacklevel)
    return False
