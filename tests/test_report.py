"""The HTML report: complete, self-contained, faithful to the public API, and rendered by a real browser.

Sources of truth: the published FHL 2005 / Fader & Hardie 2013 estimates (printed in the fit
table), the public API (every per-customer number in the CSV and the equity figure), the
HTML text itself (nothing outside the file is referenced) and Debian's chromium (headless:
every section rendered, every image decoded, the screenshot not blank and styled).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import clvmodels as clv  # noqa: E402

from conftest import cdnow_repeat_buyers, cdnow_summary_copy  # noqa: E402
from reference_values import BGNBD_FHL2005, GAMMA_GAMMA_FH2013  # noqa: E402

SECTIONS = {
    "summary": "Executive summary",
    "customer-equity": "Customer equity",
    "tiers-segments": "Tiers and segments",
    "customers": "Customers",
    "holdout": "Holdout evaluation",
    "data-summary": "Data summary",
    "model-checks": "Model checks",
    "appendix": "Technical appendix",
}
VALUE = {"horizon": 12, "unit": "M", "discount_rate": 0.01, "margin": 1.0}


def frame_hash(frame: pd.DataFrame) -> tuple:
    return tuple(pd.util.hash_pandas_object(frame, index=True)), tuple(frame.columns), dict(frame.attrs)


@pytest.fixture(scope="module")
def fitted():
    summary = cdnow_summary_copy()
    bg = clv.BetaGeo().fit(summary)
    gg = clv.GammaGamma().fit(cdnow_repeat_buyers())
    return summary, bg, gg


@pytest.fixture(scope="module")
def mle_report(tmp_path_factory, fitted, cdnow_transactions):
    summary, bg, gg = fitted
    before = frame_hash(summary), frame_hash(cdnow_transactions)
    files = clv.report(bg, gg, summary, tmp_path_factory.mktemp("report") / "cdnow.html",
                       transactions=cdnow_transactions, **VALUE)
    after = frame_hash(summary), frame_hash(cdnow_transactions)
    return files, files.html.read_text(encoding="utf-8"), before == after


def section_html(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, flags=re.S)
    assert match, f"section {section_id} missing"
    return match.group(1)


def embedded_pngs(page: str) -> list[np.ndarray]:
    return [mpimg.imread(io.BytesIO(base64.b64decode(b)), format="png")
            for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


# --------------------------------------------------------------------------- content
def test_report_has_every_section_in_order(mle_report):
    files, page, _ = mle_report
    assert files.sections == tuple(SECTIONS)
    positions = [page.index(f'<section id="{sid}">') for sid in SECTIONS]
    assert positions == sorted(positions)
    for sid, title in SECTIONS.items():
        assert f"<h2>{title}</h2>" in section_html(page, sid)
    assert "could not be drawn" not in page and 'class="warn"' not in page


def test_fit_table_prints_the_published_estimates(mle_report):
    _, page, _ = mle_report
    fit = section_html(page, "appendix")
    for published in (BGNBD_FHL2005, GAMMA_GAMMA_FH2013):
        for name, printed in published.params.items():
            decimals = len(printed.split(".")[1])
            cell = re.search(rf"<th>{name}</th>\s*<td>([0-9.,]+)</td>", fit)
            assert cell, name
            assert f"{float(cell.group(1)):.{decimals}f}" == printed, (name, cell.group(1), printed)
    assert "log-likelihood: -9,582.43" in fit  # FHL 2005: -9582.4


def test_customer_csv_holds_the_public_api_predictions(mle_report, fitted):
    files, _, _ = mle_report
    summary, bg, gg = fitted
    table = pd.read_csv(files.customers, index_col="customer_id")
    assert len(table) == len(summary) and set(table.index) == set(summary.index)
    table = table.loc[summary.index]
    np.testing.assert_allclose(table["p_alive"], bg.probability_alive(summary), rtol=1e-12)
    np.testing.assert_allclose(table["expected_spend"], gg.expected_spend(summary), rtol=1e-12)
    np.testing.assert_allclose(table["clv_12m"], clv.lifetime_value(bg, gg, summary, **VALUE), rtol=1e-12)
    assert set(table["tier"]) == {"platinum", "gold", "iron", "lead"}
    assert table["segment"].notna().all()


def test_equity_and_top_customers_match_the_public_api(mle_report, fitted):
    _, page, _ = mle_report
    summary, bg, gg = fitted
    equity = clv.customer_equity(bg, gg, summary, **VALUE)
    assert f'<div class="v">{equity:,.0f}</div>' in section_html(page, "customer-equity")
    assert f'<div class="v">{equity:,.0f}</div>' in section_html(page, "summary")
    table = section_html(page, "customers")
    ids = re.findall(r"<tr>\s*<th>(\d+)</th>", table)
    expected = clv.lifetime_value(bg, gg, summary, **VALUE).sort_values(ascending=False, kind="stable")
    # every customer, highest CLV first
    assert [int(i) for i in ids] == expected.index.tolist()


def test_holdout_section_shows_tracking_and_conditional_expectations(mle_report):
    _, page, _ = mle_report
    holdout = section_html(page, "holdout")
    assert holdout.count("<img") == 3  # cumulative, incremental tracking; conditional expectations
    for title in ("Repeat purchases: actual vs forecast", "Mean holdout purchases by repeat purchases before",
                  "Per-customer forecast errors in the holdout"):
        assert f"<h3>{title}</h3>" in holdout


def test_report_images_are_real_pictures(mle_report):
    _, page, _ = mle_report
    images = embedded_pngs(page)
    assert len(images) == page.count("<img") == 10  # 1 equity, 2 segments, 1 top, 3 holdout, 3 checks
    for img in images:
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert float(img[..., :3].std()) > 0.05  # not a blank canvas


def test_report_references_nothing_outside_itself(mle_report):
    _, page, _ = mle_report
    assert not re.search(r"https?:|ftp:|file:", page, flags=re.I)
    for attr, target in re.findall(r'\b(src|href|action|poster|data)\s*=\s*"([^"]*)"', page, flags=re.I):
        assert target.startswith("data:image/png;base64,") if attr == "src" else target.startswith("#"), target
    for tag in ("<link", "<iframe", "<object", "<embed", "<base", "<meta http-equiv", "@import", "url("):
        assert tag not in page.lower(), tag
    # one inline script (the customer table's sorting and search): no src, and nothing in it that loads
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S | re.I)
    assert len(scripts) == 1 and page.lower().count("<script") == 1
    attributes, code = scripts[0]
    assert attributes.strip() == ""
    for call in ("fetch", "xmlhttprequest", "websocket", "eventsource", "import", "sendbeacon", "location",
                 ".src", "href", "createelement", "innerhtml", "eval", "worker"):
        assert call not in code.lower(), call


def test_report_leaves_the_inputs_unchanged(mle_report):
    assert mle_report[2]


def test_report_without_holdout_or_spend_model_says_so(tmp_path, fitted):
    summary, bg, _ = fitted
    calibration_only = summary[["frequency", "recency", "T", "monetary_value"]].copy()
    calibration_only.attrs = {k: v for k, v in summary.attrs.items() if k != "observation_end"}
    files = clv.report(bg, None, calibration_only, tmp_path / "r.html", top=5)
    page = files.html.read_text()
    assert "holdout" not in files.sections
    assert "No holdout period" in section_html(page, "data-summary")
    assert "No spend model" in section_html(page, "customer-equity")
    assert "No accuracy check" in section_html(page, "summary")
    columns = pd.read_csv(files.customers).columns
    assert "expected_purchases_12m" in columns and not any(c.startswith("clv") for c in columns)
    assert "Top 5 customers by expected purchases" in section_html(page, "customers")


LOG_MODELS = sorted(name for name, cls in clv.REGISTRY.items()
                    if issubclass(cls, clv.estimators.TransactionModel) and set(cls.spec.data_names) <= {"frequency", "recency", "T"})


@pytest.mark.parametrize("name", [n for n in LOG_MODELS if n != "bgnbd"])
def test_report_of_every_transaction_model_fitted_on_a_log_is_complete(tmp_path, name, cdnow_transactions):
    summary = cdnow_summary_copy()
    if name == "ggompertz_nbd":
        # its CDNOW likelihood has no interior optimum (b -> 0): the published fit, as tests/test_ggompertz_nbd.py finds it
        from reference_values import GGOMNBD_BG2012

        model = clv.get_model(name).from_params(GGOMNBD_BG2012.values(), unit="W")
    else:
        model = clv.get_model(name)().fit(summary)
    files = clv.report(model, clv.GammaGamma().fit(cdnow_repeat_buyers()), summary, tmp_path / f"{name}.html",
                       transactions=cdnow_transactions)
    page = files.html.read_text()
    assert files.sections == tuple(SECTIONS)
    warns = re.findall(r'<div class="warn">([^<]*)', page)
    if name == "ggompertz_nbd":  # given parameters, no covariance: the report says it has no interval, and nothing else
        warns = [w for w in warns if not w.startswith("No interval: none: the GGompertz/NBD fit has no usable covariance")]
    assert not warns, warns
    # given parameters have no covariance, so no interval: the equity-distribution figure is left out
    assert len(embedded_pngs(page)) == (10 if model.cov_ is not None else 9)


@pytest.mark.parametrize(("path", "kwargs", "message"), [
    ("report.pdf", {}, "ending in .html"),
    ("missing-folder/report.html", {}, "does not exist"),
    ("report.html", {"top": 0}, "'top'"),
])
def test_bad_report_arguments_are_named(tmp_path, fitted, path, kwargs, message):
    summary, bg, gg = fitted
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        clv.report(bg, gg, summary, tmp_path / path, **kwargs)


def test_models_in_the_wrong_places_are_named(tmp_path, fitted):
    summary, bg, gg = fitted
    with pytest.raises(TypeError, match="'model' parameter of report must be a fitted transaction model"):
        clv.report(gg, bg, summary, tmp_path / "r.html")
    with pytest.raises(TypeError, match="'spend_model' parameter of report must be a fitted spend model"):
        clv.report(bg, bg, summary, tmp_path / "r.html")


# --------------------------------------------------------------------------- posterior
@pytest.mark.slow
def test_posterior_report_shows_intervals_and_diagnostics(tmp_path):
    if not hasattr(clv.BetaGeo, "sample"):
        pytest.fail("BetaGeo.sample (the Bayesian engine) is missing: the posterior report cannot be tested")
    summary = cdnow_summary_copy()
    with warnings.catch_warnings():
        # tiny chains are expected to miss the convergence thresholds; the report must say so
        warnings.simplefilter("ignore", clv.ConvergenceWarning)
        bg = clv.BetaGeo().sample(summary, draws=100, tune=100, chains=2, random_seed=1, progressbar=False)
        gg = clv.GammaGamma().sample(cdnow_repeat_buyers(), draws=100, tune=100, chains=2, random_seed=1,
                                     progressbar=False)
    files = clv.report(bg, gg, summary, tmp_path / "posterior.html", **VALUE)
    page = files.html.read_text()
    assert "convergence diagnostics" in section_html(page, "appendix")
    equity = section_html(page, "customer-equity")
    assert "94% interval" in equity and "posterior (Bayesian fit)" in equity and equity.count("<img") == 1
    assert "could not be drawn" not in page
    table = pd.read_csv(files.customers, index_col="customer_id")
    assert (table["clv_12m_hdi_lower"] <= table["clv_12m"] + 1e-9).all()
    assert (table["clv_12m"] <= table["clv_12m_hdi_upper"] + 1e-9).all()
    assert (table["clv_12m_hdi_upper"] > table["clv_12m_hdi_lower"]).mean() > 0.99


# --------------------------------------------------------------------------- real browser
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is needed for the browser test: apt-get install -y chromium "
                    "(.ci/run installs it)")
    return path


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--host-resolver-rules=MAP * ~NOTFOUND",  # any network request would fail
               f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=90)


def test_report_renders_in_headless_chromium(tmp_path, mle_report):
    files, page, _ = mle_report
    # a test copy with a probe script: the report itself has none
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", """<script>
document.body.setAttribute('data-images', Array.from(document.images)
  .map(i => i.complete && i.naturalWidth > 0 ? 'ok' : 'broken').join(','));
document.body.setAttribute('data-sections', Array.from(document.querySelectorAll('section'))
  .filter(s => s.getBoundingClientRect().height > 40).map(s => s.id).join(','));
</script></body>"""), encoding="utf-8")
    dom = run_chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    images = re.search(r'data-images="([^"]*)"', dom.stdout).group(1).split(",")
    assert images == ["ok"] * 10
    rendered = re.search(r'data-sections="([^"]*)"', dom.stdout).group(1).split(",")
    assert rendered == list(SECTIONS)

    shot = tmp_path / "report.png"
    result = run_chromium(tmp_path, "--window-size=1280,2400", "--hide-scrollbars", f"--screenshot={shot}",
                          files.html.as_uri())
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert float(pixels.std()) > 0.1  # not blank
    colours, counts = np.unique((pixels * 255).round().astype(np.uint8).reshape(-1, 3), axis=0, return_counts=True)
    assert counts.max() / counts.sum() < 0.8 and len(colours) > 1000  # text, tables and figures, not a flat page
    # the inline stylesheet applied: the header band has the report's dark blue (#1f3b73)
    np.testing.assert_allclose(pixels[8, 640], np.array([0x1F, 0x3B, 0x73]) / 255, atol=2 / 255)


PROBE = """<script>
window.addEventListener('load', function () {
  var out = {};
  var sections = Array.from(document.querySelectorAll('main > section'));
  out.first = sections[0].id;
  out.firstTop = sections[0].getBoundingClientRect().top;
  out.viewport = window.innerHeight;
  var heads = Array.from(document.querySelectorAll('#customer-table thead th'));
  var rows = function () { return Array.from(document.querySelectorAll('#customer-table tbody tr')); };
  var ids = function () { return rows().slice(0, 10).map(function (r) { return r.cells[0].textContent; }); };
  var col = heads.findIndex(function (h) { return h.textContent.trim() === 'Mean spend per purchase'; });
  out.col = col;
  out.initial = ids();
  heads[col].click();
  out.descending = ids();
  heads[col].click();
  out.ascending = ids();
  out.sortMark = heads[col].getAttribute('aria-sort');
  var box = document.getElementById('customer-search');
  out.visible = {};
  ['gold', 'AT RISK', ''].forEach(function (q) {
    box.value = q;
    box.dispatchEvent(new Event('input'));
    out.visible[q] = [rows().filter(function (r) { return r.style.display !== 'none'; }).length,
                      document.getElementById('customer-count').textContent];
  });
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body>"""


def test_customer_table_sorts_and_filters_in_headless_chromium(tmp_path, mle_report):
    import html as html_lib
    import json

    files, page, _ = mle_report
    probe = tmp_path / "click.html"
    probe.write_text(page.replace("</body>", PROBE), encoding="utf-8")
    dom = run_chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, flags=re.S)
    assert found, dom.stdout[-2000:]
    out = json.loads(html_lib.unescape(found.group(1)))
    # the executive summary is the first section, on the first screen
    assert out["first"] == "summary" and 0 < out["firstTop"] < out["viewport"]

    table = pd.read_csv(files.customers, index_col="customer_id", dtype={"customer_id": str})
    assert out["initial"] == table.index[:10].tolist()  # the page starts as the CSV: highest CLV first
    # numbers sort from the highest on the first click, then from the lowest; ties keep their order
    spend = table["monetary_value"]
    assert out["descending"] == spend.sort_values(ascending=False, kind="stable").index[:10].tolist()
    assert out["ascending"] == spend.sort_values(ascending=True, kind="stable").index[:10].tolist()
    assert out["descending"] != out["initial"] and out["sortMark"] == "ascending"
    # the search box keeps the rows whose text holds the query, case-insensitive
    n_gold, n_at_risk = int((table["tier"] == "gold").sum()), int((table["segment"] == "at risk").sum())
    assert n_gold > 0 and n_at_risk > 0
    assert out["visible"]["gold"] == [n_gold, f"{n_gold:,}"]
    assert out["visible"]["AT RISK"] == [n_at_risk, f"{n_at_risk:,}"]
    assert out["visible"][""] == [len(table), f"{len(table):,}"]


def test_stylesheet_and_script_are_embedded_verbatim(mle_report):
    # HTML-escaping them would break every quoted selector and font name (&#34; is not a quote in CSS)
    from importlib import resources

    _, page, _ = mle_report
    templates = resources.files("clvmodels.reporting").joinpath("templates")
    assert templates.joinpath("report.css").read_text(encoding="utf-8") in page
    assert templates.joinpath("table.js").read_text(encoding="utf-8") in page
    assert "&#34;" not in page.split("</style>")[0]


def test_point_fits_get_intervals_from_asymptotic_draws(mle_report, fitted):
    files, page, _ = mle_report
    summary, bg, gg = fitted
    assert "no interval" not in page.lower()
    table = pd.read_csv(files.customers, index_col="customer_id").loc[summary.index]
    # the intervals are those of the public asymptotic-draws path, the point columns stay the point fit's
    bga, gga = bg.sample_asymptotic(500, random_seed=0), gg.sample_asymptotic(500, random_seed=0)
    drawn = clv.lifetime_value(bga, gga, summary, **VALUE)
    for col in ("sd", "hdi_lower", "hdi_upper"):
        np.testing.assert_allclose(table[f"clv_12m_{col}"], drawn[col], rtol=1e-9)
    np.testing.assert_allclose(table["clv_12m"], clv.lifetime_value(bg, gg, summary, **VALUE), rtol=1e-12)
    draws = np.asarray(clv.value.customer_equity(bga, gga, summary, return_draws=True, **VALUE)).ravel()
    from clvmodels.intervals import hdi

    (lo,), (hi,) = hdi(draws, 0.94)
    assert f'<div class="v">{lo:,.0f} – {hi:,.0f}</div>' in section_html(page, "summary")
    assert lo < clv.customer_equity(bg, gg, summary, **VALUE) < hi


def test_summary_sentences_hold_the_public_numbers(mle_report, fitted):
    files, page, _ = mle_report
    summary, bg, _ = fitted
    text = section_html(page, "summary")
    table = pd.read_csv(files.customers, index_col="customer_id")
    at_risk = table["p_alive"] < 0.5
    lost = ((1 - table["p_alive"]) * table["clv_if_active_12m"])[at_risk].sum()
    assert f"{at_risk.sum():,} ({at_risk.mean():.1%})" in text and f"{lost:,.0f}" in text
    platinum = table.loc[table["tier"] == "platinum", "clv_12m"].sum() / table["clv_12m"].sum()
    assert f"holds {platinum:.1%} of customer equity" in text
    errors = clv.evaluation.holdout_errors(bg, summary).loc["all"]
    assert f"forecast {errors['expected']:,.0f} repeat purchases and customers made {errors['actual']:,.0f}" in text
    assert "Forecast window: 1997-09-30 (end of the data the model learnt from) to 1998-09-30." in text


def test_a_fit_that_did_not_converge_is_a_caveat_with_the_optimisers_message(tmp_path, fitted):
    import dataclasses

    summary, fitted_bg, gg = fitted
    # the fitted BG/NBD as the optimiser would have left it had it stopped in a line search
    message = "ABNORMAL_TERMINATION_IN_LNSRCH"
    stopped = dataclasses.replace(fitted_bg.fit_, converged=False, info={**fitted_bg.fit_info_, "message": message})
    bg = clv.BetaGeo.from_fit(stopped)
    assert not bg.converged_
    page = clv.report(bg, gg, summary, tmp_path / "r.html", top=5).html.read_text()
    warned = re.findall(r'<div class="warn">([^<]*)</div>', section_html(page, "summary"))
    assert any("did not converge" in w and message in w for w in warned), warned


def test_customer_table_is_bounded_and_says_so(fitted):
    from clvmodels.reporting.customers import customer_table_html

    summary, bg, gg = fitted
    table = clv.value.score_table(bg, gg, summary)
    page, note = customer_table_html(table, horizon=12, unit="M", hdi_prob=0.94, max_rows=100)
    assert page.count("<tr><th>") == 100 and f"top 100 of {len(table):,} customers" in note


def test_currency_must_be_short_text(tmp_path, fitted):
    summary, bg, gg = fitted
    with pytest.raises(ValueError, match="'currency'"):
        clv.report(bg, gg, summary, tmp_path / "r.html", currency=12)


def test_large_bases_get_fewer_asymptotic_draws_and_the_page_says_how_many(tmp_path, fitted, monkeypatch):
    from clvmodels.reporting import builder

    summary, bg, gg = fitted
    monkeypatch.setattr(builder, "ASYMPTOTIC_BUDGET", 100 * len(summary) + 1)  # as for a base 5x larger
    files = clv.report(bg, gg, summary, tmp_path / "r.html", top=5, **VALUE)
    assert "100 draws from their asymptotic normal" in section_html(files.html.read_text(), "summary")
    table = pd.read_csv(files.customers, index_col="customer_id").loc[summary.index]
    drawn = clv.lifetime_value(bg.sample_asymptotic(100, random_seed=0), gg.sample_asymptotic(100, random_seed=0),
                               summary, **VALUE)
    np.testing.assert_allclose(table["clv_12m_hdi_upper"], drawn["hdi_upper"], rtol=1e-9)
