"""Masking secrets out of the settings (``settings.secrets``): every secret-bearing field of a
configuration that has them all is masked, and the shape a reader needs stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from settings import load_settings, mask_url, masked

# every kind of secret a configuration can hold, each a value no other field has
SECRETS = {
    "hdr-bearer-1": "an Authorization header of an HTTP server",
    "hdr-key-2": "a custom header",
    "env-token-3": "a stdio server's environment",
    "url-pass-4": "a server url's userinfo password",
    "url-token-5": "a server url's ?token=",
    "db-pass-6": "database_url's password",
    "redis-pass-7": "the gateway's limits storage",
    "api-key-8": "an OpenAI-compatible backend's api_key",
    "backend-hdr-9": "a backend's headers",
    "sglang-key-10": "an SGLang backend's api_key",
    "launch-arg-11": "a secret flag in a launched server's args",
    "arg-assign-12": "a NAME=value secret in a server's args",
}

CONFIG = """
database_url = "postgresql+psycopg://agent:db-pass-6@db.internal:5432/agenthost"

[servers.remote]
url = "https://mcp.example.com/mcp?token=url-token-5&region=eu"
headers = { Authorization = "Bearer hdr-bearer-1", X-Custom-Key = "hdr-key-2" }

[servers.userinfo]
url = "https://svc:url-pass-4@mcp.example.com/mcp"

[servers.local]
command = "/usr/bin/env"
args = ["some-server", "--api-key", "launch-arg-11", "GITHUB_TOKEN=arg-assign-12"]
env = { GITHUB_TOKEN = "env-token-3", LOG_LEVEL = "debug" }

[inference.backends.hosted]
kind = "openai"
base_url = "https://api.example.com/v1"
model = "m"
api_key = "api-key-8"
headers = { X-Org = "backend-hdr-9" }

[inference.backends.gpu]
kind = "sglang"
api_key = "sglang-key-10"
[inference.backends.gpu.launch]
model_path = "Qwen/Qwen2.5-7B-Instruct"
args = ["--api-key", "launch-arg-11"]

[inference.tiers]
main = ["hosted"]

[gateway.limits]
storage = "redis://:redis-pass-7@redis.internal:6379/0"
"""


def secret_config(folder: Path) -> Path:
    path = folder / "agenthost.toml"
    path.write_text(CONFIG)
    return path


def test_every_secret_is_masked_and_every_field_still_shown(tmp_path: Path) -> None:
    shown = masked(load_settings(secret_config(tmp_path)))
    text = json.dumps(shown)
    for secret, where in SECRETS.items():
        assert secret not in text, where
    remote, local = shown["servers"]["remote"], shown["servers"]["local"]
    assert remote["headers"] == {"Authorization": "***", "X-Custom-Key": "***"}
    assert remote["url"] == "https://mcp.example.com/mcp?token=***&region=eu"
    assert shown["servers"]["userinfo"]["url"] == "https://svc:***@mcp.example.com/mcp"
    assert local["env"] == {"GITHUB_TOKEN": "***", "LOG_LEVEL": "***"}
    assert local["args"] == ["some-server", "--api-key", "***", "GITHUB_TOKEN=***"]
    assert local["command"] == "/usr/bin/env"
    hosted = shown["inference"]["backends"]["hosted"]
    assert hosted["api_key"] == "***"
    assert hosted["base_url"] == "https://api.example.com/v1"
    assert shown["database_url"] == "postgresql+psycopg://agent:***@db.internal:5432/agenthost"
    assert shown["gateway"]["limits"]["storage"] == "redis://:***@redis.internal:6379/0"
    # what holds no secret is as it was: the shape, the numbers, None for what is unset
    plain = json.loads(load_settings(secret_config(tmp_path)).model_dump_json())
    assert shown.keys() == plain.keys()
    assert shown["inference"]["router"] == plain["inference"]["router"]
    assert shown["servers"]["time"] == plain["servers"]["time"]
    assert shown["inference"]["backends"]["local"]["model_path"] is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("https://ghp_abc@github.com/x.git", "https://***@github.com/x.git"),
        ("http://h/mcp?api_key=k&x=1#top", "http://h/mcp?api_key=***&x=1#top"),
        ("https://h/p?X-Amz-Signature=s&X-Amz-Credential=c", "https://h/p?X-Amz-Signature=***&X-Amz-Credential=***"),
        ("postgresql://u:p/w?d@h/db", "postgresql://u:***@h/db"),  # a raw / and ? in it
        # nothing to hide: left byte for byte
        ("sqlite:////var/lib/agenthost.db", "sqlite:////var/lib/agenthost.db"),
        ("memory://", "memory://"),
        ("https://registry.example/@scope/pkg", "https://registry.example/@scope/pkg"),
        ("not a url", "not a url"),
    ],
)  # fmt: skip
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_any_mapping_and_secret_looking_names_anywhere() -> None:
    record = {
        "session_id": "ses_1",
        "max_tokens": 256,
        "nested": {"clientSecret": "s", "refresh_tokens": ["a", "b"], "password": None},
        "args": ["--token=t", "--db", "postgresql://u:p@h/d", "Authorization: Bearer b"],
    }
    assert masked(record) == {
        "session_id": "ses_1",
        "max_tokens": 256,
        "nested": {"clientSecret": "***", "refresh_tokens": ["***", "***"], "password": None},
        "args": ["--token=***", "--db", "postgresql://u:***@h/d", "Authorization: ***"],
    }
