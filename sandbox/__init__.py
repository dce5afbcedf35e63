"""Isolated code execution. Not built yet."""
