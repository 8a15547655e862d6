"""Data drift and score drift, in plain words.

Import from the modules, not from here (this file stays empty so the cron tick, which validates the
drift policy through ``riskwatch.config``, never loads numpy or scipy):

- ``policy``: :class:`DriftPolicy`, the thresholds and method choice, validated once (stdlib only);
- ``registry``: the drift statistics by name, and which one a feature gets (stdlib only);
- ``statistics``: the registered statistic functions (KS, chi-squared, Wasserstein, Jensen-Shannon);
- ``sorted_arrays``: numpy work on sorted finite samples (Wasserstein, quantiles, PSI);
- ``data``: :func:`data_drift`, reference frame against current frame, feature by feature;
- ``report``: :class:`FeatureDrift` and :class:`DataDriftReport`, their JSON and sentences;
- ``score``: :func:`score_drift`, a new model score against the record.
"""
