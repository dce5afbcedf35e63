"""Golden datasets, scorers and eval runs. Not built yet."""
