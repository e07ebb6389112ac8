"""The models' mathematics and declarations: one module per model (formulas, ``simulate``, ``SPEC``).

No estimator classes and no pandas live here; :mod:`clvmodels.estimators` wraps each spec in
its class, and :mod:`clvmodels.models.registry` lists the specs.
"""
