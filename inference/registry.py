"""Build backends and the router from configuration. Backend kinds register by name."""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference.accounting import Metered, PriceTable
from inference.backend import Backend
from inference.config import (
    BackendConfig,
    EmbeddedConfig,
    InferenceConfig,
    OpenAIConfig,
    ScriptedConfig,
    SGLangConfig,
    Timeouts,
)
from inference.errors import ConfigError
from inference.router import Classifier, Router

Factory = Callable[[str, Any, Path], Backend]


# Each factory imports its backend: a process loads only the kinds it configures (httpx,
# jsonschema and the wire format stay out of an MCP server that never builds a backend).
def _embedded(name: str, cfg: EmbeddedConfig, log_dir: Path) -> Backend:
    if cfg.mode == "server":
        from inference.backends.llama_server import LlamaServerBackend

        return LlamaServerBackend(name, cfg, log_dir=log_dir)
    from inference.backends.embedded import EmbeddedBackend

    return EmbeddedBackend.from_config(name, cfg)


def _openai(name: str, cfg: OpenAIConfig, log_dir: Path) -> Backend:
    from inference.backends.openai_compat import OpenAICompatBackend

    return OpenAICompatBackend.from_config(name, cfg)


def _sglang(name: str, cfg: SGLangConfig, log_dir: Path) -> Backend:
    from inference.backends.sglang import SGLangBackend

    return SGLangBackend(name, cfg, log_dir=log_dir)


def _scripted(name: str, cfg: ScriptedConfig, log_dir: Path) -> Backend:
    from inference.backends.scripted import ScriptedBackend, Turn

    if cfg.script:
        script = _import(cfg.script, f"backend {name!r} script")
        return ScriptedBackend(script, name=name, model=cfg.model, token_delay_s=cfg.token_delay_s)
    turns = itertools.cycle([Turn(text) for text in cfg.replies])
    return ScriptedBackend(
        lambda request: next(turns), name=name, model=cfg.model, token_delay_s=cfg.token_delay_s
    )


BACKEND_KINDS: dict[str, Factory] = {
    "embedded": _embedded,
    "openai": _openai,
    "sglang": _sglang,
    "scripted": _scripted,
}


def build_backend(name: str, cfg: BackendConfig, log_dir: Path) -> Backend:
    try:
        factory = BACKEND_KINDS[cfg.kind]
    except KeyError:
        raise ConfigError(f"backend {name!r}: unknown kind {cfg.kind!r}") from None
    return factory(name, cfg, log_dir)


def load_classifier(spec: str) -> Classifier:
    """Import ``'package.module:function'``."""
    return _import(spec, "router.classifier")  # type: ignore[no-any-return]


def _import(spec: str, what: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ConfigError(f"{what} must look like 'module:function', got {spec!r}")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {what} {spec!r}: {exc}") from exc
    if not callable(fn):
        raise ConfigError(f"{what} {spec!r} is not callable")
    return fn


def build_router(config: InferenceConfig, log_dir: Path, *, only: set[str] | None = None) -> Router:
    """Every configured backend (or those in ``only``), metered and behind the router."""
    prices = PriceTable(models=config.prices)
    wanted = set(config.backends) if only is None else only
    backends: dict[str, Backend] = {
        name: Metered(build_backend(name, cfg, log_dir), prices)
        for name, cfg in config.backends.items()
        if name in wanted
    }
    timeouts: dict[str, Timeouts] = {
        name: getattr(cfg, "timeouts", None) or Timeouts() for name, cfg in config.backends.items()
    }
    tiers = {t: [b for b in chain if b in backends] for t, chain in config.tiers.items()}
    classifier = load_classifier(config.router.classifier) if config.router.classifier else None
    return Router(
        backends, tiers, config.router, timeouts=timeouts, classifier=classifier, prices=prices
    )
