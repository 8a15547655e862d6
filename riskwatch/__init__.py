"""riskwatch: attrition-risk models kept honest over time.

Kept free of heavy imports so that `runner.py` can answer a cron tick with no new data
without loading pandas, scikit-learn or a Jupyter kernel.
"""

__version__ = "0.1.0"
