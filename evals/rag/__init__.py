"""Retrieval and answer evals for ``rag`` on Python's language reference."""
