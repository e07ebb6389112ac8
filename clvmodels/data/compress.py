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
    n = len(arrays[names[0]])
    if len(names) == 1:
        inverse, uniq = pd.factorize(np.asarray(arrays[names[0]]))
        unique = {names[0]: np.asarray(uniq)}
    else:
        index = pd.MultiIndex.from_arrays([np.asarray(arrays[k]) for k in names])
        inverse, uniq = pd.factorize(index)
        unique = {k: np.asarray(uniq.get_level_values(i)) for i, k in enumerate(names)}
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    counts = np.bincount(inverse, weights=w, minlength=len(uniq))
    return unique, counts, inverse
