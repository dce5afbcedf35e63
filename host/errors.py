"""Errors of the host and the CLI. Each carries an exit code and a message for the user."""

from __future__ import annotations


class AgentHostError(Exception):
    """Base of the host's errors."""

    exit_code = 1


class ConfigFileError(AgentHostError):
    """The configuration file or environment is invalid."""

    exit_code = 2
