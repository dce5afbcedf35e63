"""Golden datasets, scorers and eval runs (``evals.rag``: retrieval and grounded answers)."""
