"""Rebuild the report screenshots of docs/pages/report.md (CDNOW sample, maximum likelihood).

Run from the repository root: ``python docs/report_screenshots.py`` (needs Debian's chromium);
``--posterior`` also samples both models (NUTS, 2 chains x 500 draws) for the posterior pictures.
Each picture is a copy of the report with one group of sections shown (a style added to the
copy hides the others); the report itself is untouched. The last picture clicks a header and
types in the search box first, as a reader would.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import clvmodels as clv  # noqa: E402

IMG = Path(__file__).parent / "pages" / "img"
SHOTS = {  # file -> (sections shown, window height)
    "report-overview.png": (("summary", "customer-equity"), 1500),
    "report-equity-tiers.png": (("tiers-segments",), 1900),
    "report-customers.png": (("customers",), 1150),
    "report-holdout.png": (("holdout",), 1900),
    "report-model-checks.png": (("data-summary", "model-checks"), 2000),
    "report-appendix.png": (("appendix",), 700),
}
CLICK = """<script>window.addEventListener('load', function () {
  var heads = Array.from(document.querySelectorAll('#customer-table thead th'));
  heads.find(function (h) { return h.textContent.indexOf('Expected purchases') === 0; }).click();
  var box = document.getElementById('customer-search');
  box.value = 'champions'; box.dispatchEvent(new Event('input'));
});</script></body>"""


POSTERIOR_SHOTS = {
    "report-posterior-equity.png": (("summary", "customer-equity"), 1500),
    "report-posterior-checks.png": (("model-checks",), 1500),
    "report-posterior-fit.png": (("appendix",), 1500),
}


def main(posterior: bool = False) -> None:
    tx = clv.datasets.load_cdnow()
    s = clv.rfm_summary(tx, "customer_id", "date", "amount", unit="W", calibration_end="1997-09-30",
                        observation_end="1998-06-30")
    if posterior:
        options = {"draws": 500, "tune": 500, "chains": 2, "random_seed": 1, "progressbar": False}
        bg, gg = clv.BetaGeo().sample(s, **options), clv.GammaGamma().sample(s[s["frequency"] > 0], **options)
        shots = POSTERIOR_SHOTS
    else:
        bg, gg = clv.BetaGeo().fit(s), clv.GammaGamma().fit(s[s["frequency"] > 0])
        shots = dict(SHOTS, **{"report-customers-sorted.png": (("customers",), 1150)})
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        page = clv.report(bg, gg, s, tmp / "cdnow.html", transactions=tx, horizon=12, unit="M",
                          discount_rate=0.01, currency="$").html.read_text(encoding="utf-8")
        for name, (shown, height) in shots.items():
            hide = ",".join(f"#{sid}" for sid in shown)
            copy = page.replace("</style>", f"main > section:not({hide}) {{ display: none; }}\n</style>")
            if name == "report-customers-sorted.png":
                copy = copy.replace("</body>", CLICK)
            (tmp / name).with_suffix(".html").write_text(copy, encoding="utf-8")
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp / 'profile'}",
                            f"--window-size=1280,{height}", "--virtual-time-budget=5000",
                            f"--screenshot={IMG / name}", (tmp / name).with_suffix(".html").as_uri()],
                           check=True, capture_output=True, timeout=120)
            print(IMG / name)


if __name__ == "__main__":
    import sys

    main(posterior="--posterior" in sys.argv[1:])
