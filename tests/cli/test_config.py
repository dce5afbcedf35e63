"""``agenthost config`` as a user runs it: the effective settings with every secret masked."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import agenthost
from tests.settings.test_secrets import SECRETS, secret_config


def test_config_prints_no_secret(tmp_path: Path) -> None:
    secret_config(tmp_path)
    out = agenthost("config", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for secret, where in SECRETS.items():
        assert secret not in out.stdout + out.stderr, where
    shown = json.loads(out.stdout)
    assert shown["servers"]["remote"]["headers"] == {"Authorization": "***", "X-Custom-Key": "***"}
    assert shown["inference"]["backends"]["hosted"]["api_key"] == "***"
    assert shown["retention"] == {"days": None}
