"""Collapse customers with identical sufficient statistics to weighted unique rows.

Likelihoods and predictions depend on a customer only through a few numbers (x, t_x, T,
...), so they are evaluated once per distinct row and expanded back.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["compress"]


def compress(arrays: Mapping[str, np.ndarray], weights: np.ndarray | None = None):
    """Unique rows of equal-length ``arrays``, their summed weights and the map back.

    Returns
    -------
    unique : dict of str to ndarray
        The distinct rows, column by column.
    counts : ndarray
        Summed weights of each distinct row (1 per input row when ``weights`` is None).
    inverse : ndarray of int
        For each input row, the index of its distinct row: ``unique[k][inverse]`` restores it.

    Examples
    --------
    >>> u, w, inv = compress({"x": np.array([1, 0, 1]), "T": np.array([5.0, 2.0, 5.0])})
    >>> u["x"].tolist(), w.tolist(), inv.tolist()
    ([1, 0], [2.0, 1.0], [0, 1, 0])
    """
    names = list(arrays)
    columns = [np.asarray(arrays[k]) for k in names]
    n = len(columns[0])
    # Factorize column by column and combine the codes into one integer key, re-factorizing
    # after each step so the key stays below n * (distinct values of the next column). A
    # MultiIndex factorize gives the same groups but builds tuples: ~30x slower on 1e6 rows.
    inverse, _ = pd.factorize(columns[0], use_na_sentinel=False)
    for col in columns[1:]:
        codes, uniq = pd.factorize(col, use_na_sentinel=False)
        inverse, _ = pd.factorize(inverse.astype(np.int64) * len(uniq) + codes, use_na_sentinel=False)
    inverse = inverse.astype(np.intp, copy=False)
    # the first row of each group (unbuffered ufunc.at: ~7x faster than Index.duplicated)
    first = np.full(int(inverse.max()) + 1 if n else 0, n, dtype=np.intp)
    np.minimum.at(first, inverse, np.arange(n, dtype=np.intp))
    unique = {k: col[first] for k, col in zip(names, columns)}
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    counts = np.bincount(inverse, weights=w, minlength=len(first))
    return unique, counts, inverse
