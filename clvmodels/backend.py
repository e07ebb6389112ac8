"""The array namespace every model's mathematics is written against.

Each model module writes its log-likelihood and its predictions once, as functions whose
first argument ``xp`` is one of the namespaces below. :data:`numpy` evaluates them eagerly
with NumPy/SciPy (predictions, fixed-parameter likelihoods); :data:`pytensor` builds a
symbolic graph from the very same code (gradients for maximum likelihood, the PyMC model).

Only the operations the models need are exposed, so a formula cannot silently reach for a
function that exists in one backend and not the other.

Examples
--------
>>> from clvmodels import backend
>>> float(backend.numpy.betaln(2.0, 3.0))  # log B(2, 3) = log(1/12)
-2.4849066497880004
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import scipy.special as sc

__all__ = ["numpy", "pytensor", "BACKENDS", "hyp2f1"]


def _np_where(cond, a, b):
    return np.where(cond, a, b)


def _np_log1mexp(x):
    # log(1 - e^x) for x <= 0, accurate at both ends (Maechler 2012): log(-expm1(x)) near 0,
    # log1p(-exp(x)) far below it.
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -np.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


#: Above this parameter size SciPy's hyp2f1 loses accuracy or returns NaN for z near 1.
_HYP2F1_SCIPY_MAX = 200.0


def hyp2f1(a, b, c, z):
    """Gauss hypergeometric 2F1 for real arguments with z < 1, hardened.

    SciPy's ``hyp2f1`` returns NaN, or loses digits, when a parameter is large (a customer's
    frequency enters them) and z is near 1, and is wrong near z = 1 when c - a - b is close
    to an integer. Those entries are evaluated again by :func:`_hyp2f1_careful`; the rest
    stays vectorised.

    Examples
    --------
    >>> import scipy.special as sc
    >>> bool(np.isnan(sc.hyp2f1(1.0, 9000.5, 10001.5, 0.99)))
    True
    >>> round(float(hyp2f1(1.0, 9000.5, 10001.5, 0.99)), 8)
    9.17404001
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    shape = a.shape
    with np.errstate(all="ignore"):
        out = np.asarray(sc.hyp2f1(a, b, c, z), dtype=float)
    redo = ~np.isfinite(out) | (np.maximum(np.maximum(np.abs(a), np.abs(b)), np.abs(c)) > _HYP2F1_SCIPY_MAX)
    # with a, b, c > 0 and z >= 0 every series term is positive, so 2F1 >= 1; SciPy breaks
    # that (even its sign) near z = 1 when c - a - b is close to an integer
    positive = (a > 0) & (b > 0) & (c > 0) & (z >= 0)
    excess = c - a - b
    redo |= positive & (out < 1.0)
    redo |= (z > 0.9) & (np.abs(excess - np.round(excess)) < 1e-3)
    redo &= np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(z) & (z < 1)
    if redo.any():
        out = np.array(out, copy=True, ndmin=1)
        a, b, c, z, redo = (np.atleast_1d(v) for v in (a, b, c, z, redo))
        rows = np.stack([a[redo], b[redo], c[redo], z[redo]], axis=1)
        if len(rows) > 16:  # customers share (x, T): evaluate each distinct argument once
            order = np.lexsort(rows.T[::-1])
            new = np.ones(len(rows), dtype=bool)
            new[1:] = np.any(rows[order[1:]] != rows[order[:-1]], axis=1)
            inverse = np.empty(len(rows), dtype=np.intp)
            inverse[order] = np.cumsum(new) - 1
            out[redo] = _hyp2f1_careful(*rows[order[new]].T)[inverse]
        else:
            out[redo] = _hyp2f1_careful(*rows.T)
    return out.reshape(shape) if shape else out.reshape(())[()]


def _positive_series(a: float, b: float, c: float, z: float) -> float:
    """The Gauss series of 2F1 for a, b, c > 0 and 0 <= z < 1, every term positive, one value."""
    import math

    term, total, log_scale = 1.0, 1.0, 0.0
    for k in range(100_000):
        ratio = (a + k) * (b + k) * z / ((c + k) * (k + 1.0))
        term *= ratio
        total += term
        if total > 1e280:  # keep the running sum representable
            term, total, log_scale = term * 1e-280, total * 1e-280, log_scale + 280.0 * math.log(10.0)
        # past the largest term the tail is below term / (1 - ratio)
        if ratio < 1.0 and term < 1e-17 * total * (1.0 - ratio):
            break
    log_value = math.log(total) + log_scale
    return math.exp(log_value) if log_value < 709.0 else math.inf


def _hyp2f1_careful(a, b, c, z):
    """2F1 where SciPy cannot be trusted, vectorised: Euler's integral by quadrature where one
    numerator parameter lies in (0, c) (every case the models produce), the positive Gauss
    series summed directly where all parameters are positive, mpmath at 250 digits for the rest.

    mpmath's own hyp2f1 is not safe at ordinary precision here: at 50 digits it returns 21.60
    for 2F1(1, 433; 665.5; 8/9), a sum of positive terms with ratio < 8/9 that is 2.375. At
    250 digits it is right but costs ~8 ms a value, which made BG/NBD predictions with a < 1
    and b > 200 (where every customer came here) take minutes.
    """
    out = np.empty(a.shape)
    pending = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(z)
    out[~pending] = np.nan
    # terms t_{k+1} = t_k (a+k)(b+k) z / ((c+k)(k+1)); all positive when a, b, c > 0, z >= 0
    positive = pending & (a > 0) & (b > 0) & (c > 0) & (z >= 0) & (z <= 0.9997)
    # ~40 / (1 - z) terms at ~0.3 us: past z = 0.98 (~2,000 terms, ~0.6 ms) the quadrature is cheaper
    short = positive & (z <= 0.98)
    if 0 < short.sum() <= 4 and short.sum() == pending.sum():
        # a few values (the compiled likelihood's gradient asks one at a time): a plain Python
        # loop costs ~0.1 us a term, anything vectorised ~6 us a step on a tiny array
        out[positive] = [_positive_series(*v) for v in zip(a[positive], b[positive], c[positive], z[positive])]
        return out
    # Euler's integral needs a numerator parameter in (0, c) (2F1 is symmetric in a and b):
    # take as exponent the other one, the smaller in size when both qualify
    b_ok = pending & (b > 0) & (b < c) & (z >= 0) & (z < 1)
    a_ok = pending & (a > 0) & (a < c) & (z >= 0) & (z < 1)
    swap = a_ok & (~b_ok | (np.abs(b) < np.abs(a)))
    euler = a_ok | b_ok
    if euler.any():
        ex, beta = np.where(swap, b, a)[euler], np.where(swap, a, b)[euler]
        with np.errstate(over="ignore"):
            out[euler] = np.exp(_log_hyp2f1_euler_integral(ex, beta, c[euler], z[euler]))
    series = positive & ~euler
    if series.any():
        out[series] = _positive_series_vectorised(a[series], b[series], c[series], z[series])
    rest = pending & ~euler & ~series
    if rest.any():
        import mpmath

        with mpmath.workdps(250):
            out[rest] = [float(mpmath.hyp2f1(*v)) for v in zip(a[rest], b[rest], c[rest], z[rest])]
    return out


def _positive_series_vectorised(aa, bb, cc, zz):
    """The positive Gauss series of 2F1 for arrays, summed in log space (a, b, c > 0, 0 <= z < 1)."""
    log_term = np.zeros(aa.shape)
    log_sum = np.zeros(aa.shape)
    active = np.ones(aa.shape, dtype=bool)
    for k in range(100_000):
        ratio = (aa + k) * (bb + k) * zz / ((cc + k) * (k + 1.0))
        with np.errstate(divide="ignore"):  # z = 0: the series is its first term
            log_term = log_term + np.log(ratio)
        log_sum = np.where(active, np.logaddexp(log_sum, log_term), log_sum)
        # past the largest term, stop once a term no longer changes the sum
        active &= ~((ratio < 1.0) & (log_term < log_sum - 40.0))
        if not active.any():
            break
    with np.errstate(over="ignore"):
        return np.exp(log_sum)


def _log_sigmoid(v):
    return -np.logaddexp(0.0, -v)


def _log_hyp2f1_euler_integral(a, b, c, z):
    r"""log 2F1(a, b; c; z) for 0 < b < c, any real a, 0 <= z < 1, from Euler's integral.

    .. math:: {}_2F_1(a, b; c; z) = E\left[(1 - zp)^{-a}
ight], \quad p \sim \mathrm{Beta}(b, c-b),

    written over :math:`v = \mathrm{logit}\, p`, where the integrand
    :math:`\exp\{b\log\sigma(v) + (c-b)\log\sigma(-v) - a\log(1 - z\sigma(v))\}` is smooth and
    decays exponentially both ways (rates :math:`b` and :math:`c-b`). The substitution
    :math:`v = m + \lambda\sinh s` (``m`` the mode by safeguarded Newton steps, ``lambda`` the
    Laplace scale capped at 1) makes those tails decay double-exponentially, and the
    trapezoidal rule in ``s``, which converges geometrically for such integrands, is refined
    (128, 256, ... intervals) until halving the step changes the log by less than 1e-10 (an
    error of ~1e-20 by the geometric rate; below 1e-10 relative in tests/test_special.py over
    parameters from 1e-2 to 1e4 and z up to 1 - 1e-9). Every factor is formed in log space, so
    no parameter size overflows; the cost is ~130-520 nodes a value, whatever the parameters.
    """
    d = c - b
    L = np.log1p(-z)
    # the integrand's log-derivative is b - (c-a) sigma(v) - a sigma(v + L)
    v = np.log(b) - np.log(d)
    for _ in range(50):
        s1, s2 = _sigmoid(v), _sigmoid(v + L)
        grad = b - (c - a) * s1 - a * s2
        curv = -(c - a) * s1 * (1.0 - s1) - a * s2 * (1.0 - s2)
        step = np.clip(np.where(curv < 0, -grad / np.where(curv < 0, curv, -1.0), np.sign(grad)), -2.0, 2.0)
        v = v + step
        if np.all(np.abs(step) < 1e-3):
            break
    s1, s2 = _sigmoid(v), _sigmoid(v + L)
    sd = 1.0 / np.sqrt(np.maximum((c - a) * s1 * (1.0 - s1) + a * s2 * (1.0 - s2), 1e-300))
    lam = np.minimum(sd, 1.0)
    # cover +-12 Laplace sds and the exponential tails down to e^-75 of their start
    left = np.arcsinh(12.0 * sd / lam + 75.0 / (b * lam))
    right = np.arcsinh(12.0 * sd / lam + 75.0 / (d * lam))
    out = np.empty(a.shape)
    pending = np.ones(a.shape, dtype=bool)
    n = 128
    while pending.any():
        i = np.flatnonzero(pending)
        grid = np.linspace(0.0, 1.0, n + 1)
        s = -left[i, None] + (left + right)[i, None] * grid
        vv = v[i, None] + lam[i, None] * np.sinh(s)
        lp = _log_sigmoid(vv)
        lq = lp - vv  # log sigma(-v)
        # the beta kernel alone, on the same nodes: its integral is B(b, c - b), and the ratio
        # cancels the rounding the two share (SciPy's betaln is off by ~3e-13 at b ~ 1000,
        # which the cancellation in 1 - u^k 2F1 of the BG/NBD expectations magnifies)
        log_f0 = b[i, None] * lp + d[i, None] * lq + np.log(lam[i, None] * np.cosh(s))
        # log(1 - z p) = log((1 - p) + (1 - z) p), without cancellation as z -> 1
        log_f = log_f0 - a[i, None] * np.logaddexp(lq, L[i, None] + lp)
        h = (left + right)[i] / n
        fine, coarse = _trapezoid_log(log_f, h)
        fine0, coarse0 = _trapezoid_log(log_f0, h)
        # where the factor (1 - z p)^-a moves the mass far from the beta's own, the nodes need
        # not cover the beta kernel: there B(b, c - b) comes from betaln
        top0 = np.max(log_f0, axis=1)
        covered = (log_f0[:, 0] < top0 - 45.0) & (log_f0[:, -1] < top0 - 45.0)
        out[i] = fine - np.where(covered, fine0, sc.betaln(b[i], d[i]))
        done = (np.abs(fine - coarse) < 1e-10) & (~covered | (np.abs(fine0 - coarse0) < 1e-10))
        pending[i[done | (n >= 4096)]] = False
        n *= 2
    return out


def _trapezoid_log(log_f, h):
    """log of the trapezoidal sums with steps h and 2h (rows of ``log_f`` on a uniform grid whose
    ends carry negligible mass, so the end weights do not matter)."""
    top = np.max(log_f, axis=1)
    weights = np.exp(log_f - top[:, None])
    fine = top + np.log(np.sum(weights, axis=1) * h)
    coarse = top + np.log(np.sum(weights[:, ::2], axis=1) * (2.0 * h))
    return fine, coarse


def _sigmoid(v):
    return sc.expit(v)


def _np_logsumexp(x, axis=None):
    return sc.logsumexp(x, axis=axis)


numpy = SimpleNamespace(
    name="numpy",
    asarray=np.asarray,
    gammaln=sc.gammaln,
    betaln=sc.betaln,
    hyp2f1=hyp2f1,
    betainc=sc.betainc,
    gammainc=sc.gammainc,
    gammaincc=sc.gammaincc,
    log=np.log,
    log1p=np.log1p,
    exp=np.exp,
    expm1=np.expm1,
    logaddexp=np.logaddexp,
    sigmoid=sc.expit,
    log1mexp=_np_log1mexp,
    logsumexp=_np_logsumexp,
    arange=np.arange,
    max=np.max,
    hyperu=sc.hyperu,
    sqrt=np.sqrt,
    abs=np.abs,
    maximum=np.maximum,
    minimum=np.minimum,
    where=_np_where,
    sum=np.sum,
    stack=np.stack,
    cumsum=np.cumsum,
    isinf=np.isinf,
    inf=np.inf,
)
"""NumPy/SciPy namespace: eager evaluation, broadcasting like NumPy."""


def _pytensor_hyperu():
    """Tricomi's U as a PyTensor op evaluated by SciPy (no gradient: used only in predictions)."""
    import pytensor.tensor as pt
    from pytensor.compile.ops import wrap_py

    @wrap_py(itypes=[pt.dvector, pt.dvector, pt.dvector], otypes=[pt.dvector])
    def _hyperu(a, b, z):
        return np.asarray(sc.hyperu(a, b, z), dtype=float)

    def hyperu(a, b, z):
        a, b, z = (pt.as_tensor_variable(v, dtype="float64") for v in (a, b, z))
        a, b, z = pt.broadcast_arrays(a, b, z)
        shape = a.shape
        return _hyperu(a.ravel(), b.ravel(), z.ravel()).reshape(shape)

    return hyperu


_PT_HYP2F1 = None


def _pytensor_hyp2f1():
    """PyTensor's hyp2f1 (with its gradient) evaluated by the hardened :func:`hyp2f1` above.

    Under PyTensor's Numba backend the fast SciPy (Cython) kernel runs in compiled code and
    only the entries it cannot do (large parameters, non-finite result) drop to object mode.
    """
    global _PT_HYP2F1
    if _PT_HYP2F1 is not None:
        return _PT_HYP2F1
    from pytensor.scalar.math import Hyp2F1, upgrade_to_float
    from pytensor.tensor.elemwise import Elemwise

    class HardenedHyp2F1(Hyp2F1):
        nfunc_spec = ("clvmodels.backend.hyp2f1", 4, 1)

        def impl(self, a, b, c, z):
            return hyp2f1(a, b, c, z)

        def pullback(self, inputs, outputs, grads):
            # Derivatives in a, b, c: PyTensor's exact series (as in its own Hyp2F1) for
            # z <= 0.5, where it converges in a few dozen terms; beyond, where it can need up
            # to 10^6 terms per element (the Pareto/NBD regime as z -> 1, which stalls NUTS),
            # central differences of the hardened function (~1e-9 relative). The z-derivative
            # is exact everywhere.
            a, b, c, z = inputs
            (gz,) = grads
            far = z > 0.5

            def central(i):
                h = 1e-6 * (1.0 + abs(inputs[i]))
                up, down = list(inputs), list(inputs)
                up[i] = inputs[i] + h
                down[i] = inputs[i] - h
                return (scalar_op(*up) - scalar_op(*down)) / (2.0 * h)

            try:
                from pytensor.scalar.basic import eq, switch, upcast
                from pytensor.scalar.math import _grad_2f1_loop

                dtype = upcast(a.type.dtype, b.type.dtype, c.type.dtype, z.type.dtype, "float32")
                *exact, _ = _grad_2f1_loop(a, b, c, z, skip_loop=eq(z, 0) | far, wrt=[0, 1, 2], dtype=dtype)
                partials = [switch(eq(z, 0), 0.0, switch(far, central(i), exact[i])) for i in range(3)]
            except ImportError:  # a PyTensor without the private loop: differences everywhere
                partials = [central(i) for i in range(3)]
            return [gz * partials[0], gz * partials[1], gz * partials[2],
                    gz * ((a * b) / c) * scalar_op(a + 1, b + 1, c + 1, z)]

    scalar_op = HardenedHyp2F1(upgrade_to_float, name="hardened_hyp2f1")
    try:
        _register_numba_hyp2f1(HardenedHyp2F1)
    except ImportError:  # PyTensor without Numba: the Python/C linkers use impl/nfunc_spec
        pass
    _PT_HYP2F1 = Elemwise(scalar_op)
    return _PT_HYP2F1


def _register_numba_hyp2f1(op_type):
    import numba
    from pytensor.link.numba.dispatch import basic as numba_basic
    from pytensor.link.numba.dispatch.scalar import numba_funcify_ScalarOp, register_scalar_funcify
    from pytensor.scalar.math import hyp2f1 as plain_hyp2f1

    limit = _HYP2F1_SCIPY_MAX

    def _fallback(a, b, c, z):
        return float(hyp2f1(a, b, c, z))

    @register_scalar_funcify(op_type)
    def _funcify(op, node, **kwargs):
        fast, fast_key = numba_funcify_ScalarOp(plain_hyp2f1, node, **kwargs)

        @numba_basic.numba_njit
        def hardened(a, b, c, z):
            v = fast(a, b, c, z)
            if not np.isfinite(v) or max(abs(a), abs(b), abs(c)) > limit:
                with numba.objmode(v="float64"):
                    v = _fallback(a, b, c, z)
            return v

        # A key lets PyTensor cache the compiled graph on disk: without one, every new process
        # compiled the Pareto/NBD likelihood afresh (16-50 s of Numba JIT before the first fit).
        # It names everything the kernel depends on: this wrapper's version, the limit, the fast kernel.
        key = None if fast_key is None else f"clvmodels.hardened_hyp2f1.v1.{limit!r}.{fast_key}"
        return hardened, key


def _load_pytensor() -> SimpleNamespace:
    import pytensor.tensor as pt
    from pytensor.tensor import special as pts

    return SimpleNamespace(
        name="pytensor",
        asarray=pt.as_tensor_variable,
        gammaln=pt.gammaln,
        betaln=pts.betaln,
        hyp2f1=_pytensor_hyp2f1(),
        betainc=pt.betainc,
        gammainc=pt.gammainc,
        gammaincc=pt.gammaincc,
        log=pt.log,
        log1p=pt.log1p,
        exp=pt.exp,
        expm1=pt.expm1,
        logaddexp=pt.logaddexp,
        sigmoid=pt.sigmoid,
        log1mexp=pt.log1mexp,
        logsumexp=pt.logsumexp,
        arange=pt.arange,
        max=pt.max,
        hyperu=_pytensor_hyperu(),
        sqrt=pt.sqrt,
        abs=pt.abs,
        maximum=pt.maximum,
        minimum=pt.minimum,
        where=pt.switch,
        sum=pt.sum,
        stack=pt.stack,
        cumsum=pt.cumsum,
        isinf=pt.isinf,
        inf=np.inf,
    )


class _LazyPytensor:
    """Import PyTensor on first use: NumPy-only work (summaries, scoring) stays fast to start."""

    _ns: SimpleNamespace | None = None

    def __getattr__(self, item):
        if _LazyPytensor._ns is None:
            _LazyPytensor._ns = _load_pytensor()
        return getattr(_LazyPytensor._ns, item)


pytensor = _LazyPytensor()
"""PyTensor namespace: symbolic graphs for gradients and PyMC (imported lazily)."""

BACKENDS = {"numpy": numpy, "pytensor": pytensor}
