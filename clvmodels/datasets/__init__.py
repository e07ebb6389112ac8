"""Data sets shipped with clvmodels.

The files come from the ``lifetimes`` package (version 0.11.3, MIT licence, directory
``lifetimes/datasets``), which took them from Bruce Hardie's web pages accompanying the papers:

- ``CDNOW_sample.txt`` / ``CDNOW_master.txt``: purchases at the online retailer CDNOW by the
  23,570 customers who made their first purchase there in the first quarter of 1997, tracked
  to the end of June 1998 (the master file), and the 1/10 systematic sample of 2,357 customers
  used by Fader, Hardie & Lee (2005). Stored gzip-compressed, otherwise unchanged.
- ``donations.csv``: the repeat-donation histories of 11,104 first-time donors of 1995 to a
  non-profit over the six annual opportunities 1996-2001, aggregated by (frequency, recency),
  from Fader, Hardie & Shang (2010).

They are read directly from the package data (lifetimes' own loader imports
``pkg_resources``, which current setuptools no longer provides).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_cdnow", "load_donations"]


def _path(name: str):
    return resources.files(__name__).joinpath("files", name)


def load_cdnow(version: str = "sample") -> pd.DataFrame:
    """The CDNOW transaction log.

    Parameters
    ----------
    version : {"sample", "master"}
        ``"sample"``: the 2,357-customer sample of Fader, Hardie & Lee (2005);
        ``"master"``: all 23,570 customers.

    Returns
    -------
    DataFrame
        One row per transaction record, columns ``customer_id`` (the sample's id 1..2357 for
        the sample, the master id for the master file), ``master_id``, ``date``
        (datetime64), ``quantity`` (number of CDs) and ``amount`` (dollars).

    Examples
    --------
    >>> tx = load_cdnow()
    >>> tx["customer_id"].nunique(), len(tx)
    (2357, 6919)
    >>> tx.columns.tolist()
    ['customer_id', 'master_id', 'date', 'quantity', 'amount']
    """
    files = {"sample": "CDNOW_sample.txt.gz", "master": "CDNOW_master.txt.gz"}
    if version not in files:
        raise ValueError(f"The 'version' parameter of load_cdnow must be 'sample' or 'master'. Got {version!r} instead.")
    with _path(files[version]).open("rb") as fh:
        if version == "sample":
            names = ["master_id", "customer_id", "date", "quantity", "amount"]
        else:
            names = ["master_id", "date", "quantity", "amount"]
        raw = pd.read_csv(fh, sep=r"\s+", header=None, names=names, compression="gzip", dtype={"date": str},
                          skiprows=1 if version == "master" else 0)
    if version == "master":
        raw["customer_id"] = raw["master_id"]
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "master_id", "date", "quantity", "amount"]]


def load_donations() -> pd.DataFrame:
    """The donations data of Fader, Hardie & Shang (2010), aggregated by (frequency, recency).

    Returns
    -------
    DataFrame
        Columns ``frequency`` (repeat donations in the 6 opportunities), ``recency`` (the
        opportunity of the last one, 0 if none), ``n_periods`` (6) and ``count`` (donors with
        that history); 11,104 donors in all.

    Examples
    --------
    >>> d = load_donations()
    >>> int(d["count"].sum()), d.columns.tolist()
    (11104, ['frequency', 'recency', 'n_periods', 'count'])
    """
    with _path("donations.csv").open("rb") as fh:
        raw = pd.read_csv(fh)
    return raw.rename(columns={"periods": "n_periods", "weights": "count"})[["frequency", "recency", "n_periods", "count"]]
