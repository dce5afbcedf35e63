"""The checks the guard runs, each a plug-in (``guardrails.types.Check``)."""
