r"""Special functions in log space, written once against :mod:`clvmodels.backend`.

The Pareto/NBD likelihood, the BG/NBD and MBG/NBD conditional expectations and the sBG
discounted residual lifetime all contain Gaussian hypergeometric terms
:math:`{}_2F_1(a, b; c; z)` with :math:`0 \le z < 1` and parameters that grow with the
customer's frequency. Evaluated as printed they overflow (the prefactors such as
:math:`(\alpha+T)^{-(r+x)}` underflow to 0 while the series diverges as :math:`z \to 1`), which
is where other implementations return NaN or ``inf``. Here every such term is evaluated as a
logarithm, after Euler's transformation

.. math:: {}_2F_1(a, b; c; z) = (1-z)^{c-a-b}\, {}_2F_1(c-a, c-b; c; z)

whenever :math:`c - a - b < 0`, so that the function actually evaluated converges at
:math:`z = 1` and stays bounded, and the divergent factor is carried exactly in the log.
Because the parameters of the evaluated function are chosen with ``where`` *before* one
single evaluation, no discarded branch can put a NaN into a PyTensor gradient.

Every function takes the backend namespace ``xp`` first, so the maximum-likelihood engine, the
PyMC model and the NumPy predictions share them.
"""

from __future__ import annotations

__all__ = ["log_hyp2f1", "log_diff_exp", "expm1_ratio", "log_scaled_hyperu", "beta_expectation"]


def log_hyp2f1(xp, a, b, c, z, log1mz=None):
    r""":math:`\log {}_2F_1(a, b; c; z)` for :math:`a, b, c > 0` and :math:`0 \le z < 1`.

    Uses Euler's transformation when :math:`c - a - b < 0` (see the module docstring): the
    series evaluated then converges at :math:`z = 1`, and the factor
    :math:`(1-z)^{c-a-b}` is added as :math:`(c-a-b)\log(1-z)`.

    Parameters
    ----------
    xp : namespace
        :data:`clvmodels.backend.numpy` or :data:`clvmodels.backend.pytensor`.
    a, b, c : array-like
        Positive parameters.
    z : array-like
        Argument in :math:`[0, 1)`.
    log1mz : array-like, optional
        :math:`\log(1 - z)` computed by the caller without cancellation (e.g.
        :math:`\log\frac{\beta+t}{\alpha+t}` rather than from :math:`z = \frac{\alpha-\beta}{\alpha+t}`).
        Near :math:`z = 1` the factor :math:`(c-a-b)\log(1-z)` is otherwise limited by the
        rounding of :math:`z` itself.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> float(log_hyp2f1(backend.numpy, 1.0, 1.0, 2.0, 0.5))  # 2F1(1,1;2;z) = -log(1-z)/z
    0.3266342599...
    >>> float(np.log(-np.log(0.5) / 0.5))
    0.3266342599...
    >>> # far past the point where the printed form overflows
    >>> round(float(log_hyp2f1(backend.numpy, 10000.5, 1.6, 10001.5, 0.9999)), 6)
    13.973144
    """
    excess = c - a - b
    euler = excess < 0
    a2 = xp.where(euler, c - a, a)
    b2 = xp.where(euler, c - b, b)
    prefactor = xp.where(euler, excess, 0.0) * (xp.log1p(-z) if log1mz is None else log1mz)
    return prefactor + xp.log(xp.hyp2f1(a2, b2, c, z))


def log_diff_exp(xp, u, v):
    r""":math:`\log(e^u - e^v)` for :math:`u > v`, without forming :math:`e^u`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> round(float(log_diff_exp(backend.numpy, -1000.0, -1001.0)), 6)
    -1000.458675
    """
    return u + xp.log1mexp(v - u)


def expm1_ratio(xp, u, v):
    r""":math:`(1 - e^{uv}) / u`, continuous at :math:`u = 0` (where it is :math:`-v`).

    Used for :math:`\frac{\beta}{s-1}\left[1 - \left(\frac{\beta}{\beta+t}\right)^{s-1}\right]`
    in the Pareto/NBD expectations, which is 0/0 at :math:`s = 1`.

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> np.round(expm1_ratio(backend.numpy, np.array([0.0, 1e-12, 1.0]), -2.0), 10).tolist()
    [2.0, 2.0, 0.8646647168]
    """
    small = xp.abs(u) < 1e-9
    u_safe = xp.where(small, 1.0, u)
    # second-order Taylor term keeps the small-u branch accurate to ~1e-18 relative
    return xp.where(small, -v * (1.0 + 0.5 * u * v), -xp.expm1(u_safe * v) / u_safe)


def log_scaled_hyperu(xp, s, z):
    r""":math:`\log\left(z^s U(s, s, z)\right)` with Tricomi's confluent hypergeometric :math:`U`.

    :math:`z^s U(s, s, z) = E[z / (z + u)]` for :math:`u \sim \mathrm{Gamma}(s, 1)`, a number
    in :math:`(0, 1]`; the Pareto/NBD DERT is :math:`1/\delta` times it (times the expected
    rate). :math:`U` itself under/overflows for large :math:`s` or :math:`z`, so three regimes
    (NumPy backend): SciPy's ``hyperu`` where its value is representable, the asymptotic
    series :math:`\sum_k (s)_k (-1/z)^k` for :math:`z \gg s`, and otherwise that expectation
    as an integral over :math:`\log u` by the trapezoidal rule (smooth unimodal integrand).

    Examples
    --------
    >>> from clvmodels import backend
    >>> import numpy as np
    >>> # s = 1: z U(1, 1, z) = z e^z E_1(z)
    >>> from scipy.special import exp1
    >>> bool(np.isclose(np.exp(log_scaled_hyperu(backend.numpy, 1.0, 2.0)), 2 * np.exp(2) * exp1(2), rtol=1e-12))
    True
    """
    if getattr(xp, "name", "") != "numpy":
        return s * xp.log(z) + xp.log(xp.hyperu(s, s, z))
    return _log_scaled_hyperu_numpy(s, z)


def _log_scaled_hyperu_numpy(s, z):
    import numpy as np
    import scipy.special as sc

    s, z = np.broadcast_arrays(np.asarray(s, dtype=float), np.asarray(z, dtype=float))
    out = np.full(s.shape, np.nan)
    with np.errstate(all="ignore"):
        direct = s * np.log(z) + np.log(sc.hyperu(s, s, z))
    ok = np.isfinite(direct) & (direct <= 1e-12)
    out[ok] = direct[ok]
    # asymptotic series sum_k (s)_k (-1/z)^k, valid when z >> s: stop at the smallest term
    rest = ~ok
    if rest.any():
        sr, zr = s[rest], z[rest]
        asym = rest.copy()
        val = np.full(sr.shape, np.nan)
        use = zr > 40.0 * (sr + 1.0)
        if use.any():
            su, zu = sr[use], zr[use]
            term = np.ones_like(su)
            total = np.ones_like(su)
            for k in range(60):
                term = term * -(su + k) / zu
                total = total + term
            val[use] = np.log(total)
        # otherwise: E[z/(z+u)], u ~ Gamma(s, 1), as an integral over v = log u (a smooth,
        # unimodal density exp(s v - e^v) / Gamma(s)) by the trapezoidal rule, which converges
        # geometrically for such integrands; the grid spans +-40 sds of v (about 1/sqrt(s)).
        other = ~use
        if other.any():
            si, zi = sr[other][:, None], zr[other][:, None]
            half = np.where(si >= 1, 40.0 / np.sqrt(si), 40.0 / si)
            lo = np.log(si) - half
            hi = np.log(si) + np.maximum(half, np.log(50.0 + 40.0 * np.sqrt(si)) - np.log(si))
            grid = np.linspace(0.0, 1.0, 4001)[None, :]
            v = lo + (hi - lo) * grid
            logdens = si * v - np.exp(v) - sc.gammaln(si)
            logf = np.log(zi) - np.logaddexp(np.log(zi), v)
            w = np.broadcast_to(hi - lo, v.shape) / 4000.0 * np.where((grid == 0) | (grid == 1), 0.5, 1.0)
            val[other] = sc.logsumexp(logdens + logf, b=w, axis=1)
        out[asym] = val
    return out


def beta_expectation(fn, a, b, n_nodes: int = 96):
    r""":math:`E[f(p)]` for :math:`p \sim \mathrm{Beta}(a, b)` by Gauss-Jacobi quadrature (NumPy).

    ``fn`` receives ``p`` with a trailing node axis (shape ``(..., n_nodes)``) and must
    broadcast against it; ``a`` and ``b`` broadcast together (one rule per distinct pair). Exact
    for polynomials of degree < ``2 * n_nodes``; used where a model's expectation over a beta
    mixing distribution has no closed form in standard functions (BG/NBD DERT).

    Examples
    --------
    >>> import numpy as np
    >>> round(float(beta_expectation(lambda p: p ** 2, 2.0, 3.0)), 12)  # a(a+1)/((a+b)(a+b+1))
    0.2
    """
    import numpy as np
    import scipy.special as sc

    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    nodes = np.empty(a.shape + (n_nodes,))
    weights = np.empty(a.shape + (n_nodes,))
    pairs, inverse = np.unique(np.stack([a.ravel(), b.ravel()], axis=1), axis=0, return_inverse=True)
    flat_nodes = nodes.reshape(-1, n_nodes)
    flat_weights = weights.reshape(-1, n_nodes)
    for k, (ak, bk) in enumerate(pairs):
        y, w = _gauss_jacobi(n_nodes, bk - 1.0, ak - 1.0)
        rows = inverse.ravel() == k
        flat_nodes[rows] = (1.0 + y) / 2.0
        flat_weights[rows] = w
    return np.sum(weights * fn(nodes), axis=-1)


def _gauss_jacobi(n, alpha, beta):
    """Nodes on [-1, 1] and normalised weights for the weight (1-y)^alpha (1+y)^beta.

    Golub-Welsch: the weights are the squared first components of the Jacobi matrix's
    eigenvectors, so no normalising constant is formed (SciPy's ``roots_jacobi`` overflows
    in it, 2^(alpha+beta+1) B(...), for a large alpha + beta such as b + x in BG/NBD).
    """
    import numpy as np
    from scipy.linalg import eigh_tridiagonal

    k = np.arange(n, dtype=float)
    ab = alpha + beta
    two = 2.0 * k + ab
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.where(np.abs(two * (two + 2.0)) > 0, (beta**2 - alpha**2) / (two * (two + 2.0)), (beta - alpha) / (ab + 2.0))
    kk = k[1:]
    t = 2.0 * kk + ab
    off = np.sqrt(4.0 * kk * (kk + alpha) * (kk + beta) * (kk + ab) / (t**2 * (t + 1.0) * (t - 1.0)))
    y, vec = eigh_tridiagonal(diag, off)
    w = vec[0] ** 2
    return y, w / w.sum()
