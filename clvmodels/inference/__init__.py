"""Inference engines: generic over models, driven by each model's :class:`~clvmodels.models.spec.ModelSpec`."""
