"""AST-style scoring of one function call against a case.

As in the AST checks of public function-calling benchmarks, a call is right when:

- the function name is exactly the expected one;
- every argument the function requires is present;
- every argument given is one the case expects (no unexpected arguments), and its value is
  among the accepted ones after type normalisation: strings compared case-insensitively with
  surrounding whitespace, quotes and final punctuation stripped and inner whitespace collapsed;
  integers and floats by numeric value (``70 == 70.0``) but never a bool for a number or a
  number for a string; lists element by element;
- an argument the case expects but the call leaves out is allowed only if ``OMIT`` is among
  its accepted values; where it is, the parameter's declared ``default`` is accepted too
  (writing the default is the same call as leaving it out).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from evals.toolcalls.cases import OMIT, Case

_EDGE = re.compile(r"^[\s'\"`]+|[\s'\"`.,;:!?]+$")


def normalise_string(value: str) -> str:
    return " ".join(_EDGE.sub("", value).casefold().split())


def values_equal(got: Any, want: Any) -> bool:
    """Equality after type normalisation (see the module docstring)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return isinstance(got, bool) and isinstance(want, bool) and got == want
    if isinstance(want, int | float):
        if not isinstance(got, int | float):
            return False
        return math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, str):
        return isinstance(got, str) and normalise_string(got) == normalise_string(want)
    if isinstance(want, list):
        return (
            isinstance(got, list)
            and len(got) == len(want)
            and all(values_equal(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(values_equal(got[k], want[k]) for k in want)
        )
    return bool(got == want)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""  # why not, when not: one short line


def score_call(case: Case, name: str | None, arguments: Any) -> Verdict:
    """Score one produced call (None for no call) against ``case``."""
    if name is None:
        return Verdict(False, "no call")
    if name != case.name:
        return Verdict(False, f"wrong function {name!r}")
    if not isinstance(arguments, dict):
        return Verdict(False, "arguments are not an object")
    spec = next(t for t in case.tools if t.name == case.name)
    for required in spec.parameters.get("required", ()):
        if required not in arguments:
            return Verdict(False, f"missing required argument {required!r}")
    for key, value in arguments.items():
        if key not in case.expected:
            return Verdict(False, f"unexpected argument {key!r}")
        accepted = [v for v in case.expected[key] if v is not OMIT]
        schema = spec.parameters.get("properties", {}).get(key, {})
        if OMIT in case.expected[key] and "default" in schema:
            accepted.append(schema["default"])
        if not any(values_equal(value, want) for want in accepted):
            return Verdict(False, f"{key}={value!r}, expected one of {accepted!r}")
    for key, accepted in case.expected.items():
        if key not in arguments and OMIT not in accepted:
            return Verdict(False, f"missing argument {key!r}")
    return Verdict(True)
