from __future__ import annotations

from pathlib import Path

import pytest

from inference.config import EmbeddedConfig, OpenAIConfig
from settings import ConfigFileError, Settings, load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_are_the_embedded_model_under_agenthost_home(isolated_home: Path) -> None:
    s = load_settings()
    assert s.home == isolated_home
    assert isinstance(s.inference.backends["local"], EmbeddedConfig)
    assert s.inference.tiers == {"main": ["local"]}


def test_toml_file_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENTHOST_HOME")
    cfg = write(
        tmp_path / "agenthost.toml",
        """
home = "~/from-toml"
[inference.backends.remote]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
api_key = "sk-secret"
[inference.tiers]
main = ["remote"]
[inference.prices.m]
input_per_mtok = 0.5
""",
    )
    s = load_settings()  # ./agenthost.toml is found without --config
    remote = s.inference.backends["remote"]
    assert isinstance(remote, OpenAIConfig)
    assert remote.api_key is not None
    assert "sk-secret" not in s.model_dump_json()
    assert s.home == Path.home() / "from-toml"
    monkeypatch.setenv("AGENTHOST_HOME", str(tmp_path / "env-home"))
    monkeypatch.setenv("AGENTHOST_LOG_LEVEL", "debug")
    s = load_settings(cfg)
    assert s.home == tmp_path / "env-home"
    assert s.log_level == "debug"


def test_nested_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTHOST_INFERENCE__ROUTER__RETRIES", "4")
    assert load_settings().inference.router.retries == 4


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    cfg = write(tmp_path / "bad.toml", "home = [unclosed\n")
    with pytest.raises(ConfigFileError, match=r"bad\.toml: invalid TOML"):
        load_settings(cfg)


def test_unknown_backend_in_tier_is_explained(tmp_path: Path) -> None:
    cfg = write(tmp_path / "a.toml", '[inference.tiers]\nmain = ["nope"]\n')
    with pytest.raises(ConfigFileError, match="unknown backend 'nope'"):
        load_settings(cfg)


def test_typo_in_a_key_is_rejected_not_ignored(tmp_path: Path) -> None:
    cfg = write(tmp_path / "a.toml", "[inference.router]\ndefualt_tier = 'main'\n")
    with pytest.raises(ConfigFileError, match="defualt_tier"):
        load_settings(cfg)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_example_config_in_the_repo_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).resolve().parents[2] / "agenthost.example.toml"
    s = load_settings(example)
    assert set(s.inference.tiers) >= {"fast", "main"}


def test_console_example_config_asks_before_sandbox_code() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "console.toml"
    s = load_settings(example)
    assert s.approvals.default == "ask"
    assert s.servers["sandbox"].policy("run_python")[0] == "high"
    assert "time" in s.servers  # the defaults stay
    # its interpreter path is relative to the file, so it works from any directory
    assert s.servers["sandbox"].command == str(example.parents[1] / ".venv/bin/python")


def test_relative_server_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    cfg = write(
        tmp_path / "conf" / "a.toml",
        """
[servers.local]
command = "../bin/server"
cwd = "work"
[servers.named]
command = "uvx"
args = ["mcp-server-fetch"]
""",
    )
    monkeypatch.chdir(tmp_path)
    s = load_settings(cfg)
    assert s.servers["local"].command == str(tmp_path / "bin" / "server")
    assert s.servers["local"].cwd == str(tmp_path / "conf" / "work")
    assert s.servers["named"].command == "uvx"  # a name on PATH stays a name


def test_adding_a_backend_keeps_the_embedded_default(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "a.toml",
        """
[inference.backends.hosted]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m"
""",
    )
    s = load_settings(cfg)
    assert set(s.inference.backends) == {"local", "hosted"}
    assert s.inference.tiers == {"main": ["local"]}


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "agenthost.toml"
    cfg.write_bytes(b"log_level = 'caf\xe9'\n")
    with pytest.raises(ConfigFileError, match=r"agenthost\.toml: not UTF-8 text") as caught:
        load_settings(cfg)
    assert "\n" not in str(caught.value)


def test_one_field_of_the_default_backend_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AGENTHOST_INFERENCE__BACKENDS__LOCAL__N_THREADS", "1")
    local = load_settings().inference.backends["local"]
    assert isinstance(local, EmbeddedConfig)
    assert local.n_threads == 1


def test_budgets_in_the_file_are_validated(tmp_path: Path) -> None:
    cfg = write(tmp_path / "a.toml", "[budgets.run]\nmax_steps = -1\n")
    with pytest.raises(ConfigFileError, match=r"budgets\.run\.max_steps"):
        load_settings(cfg)


def test_child_processes_get_the_same_home_config_and_overrides(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(tmp_path / "agenthost.toml", "log_level = 'info'\n")
    monkeypatch.setenv("AGENTHOST_SANDBOX__ISOLATION", "unshare")
    monkeypatch.setenv("UNRELATED_SECRET", "x")
    env = load_settings(cfg, database_url="sqlite:////tmp/x.db").child_env()
    assert env["AGENTHOST_HOME"] == str(isolated_home)
    assert env["AGENTHOST_CONFIG"] == str(cfg.absolute())
    assert env["AGENTHOST_SANDBOX__ISOLATION"] == "unshare"
    assert env["AGENTHOST_DATABASE_URL"] == "sqlite:////tmp/x.db"
    assert "UNRELATED_SECRET" not in env
    assert "AGENTHOST_CONFIG" not in Settings().child_env()  # made in code: no file
