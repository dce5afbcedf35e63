"""Masking secrets out of configuration before anyone sees it (``agenthost config``, logs, the
gateway): one rule, used everywhere.

What is masked, as ``"***"`` and never a part of it (even a last few characters narrow a
guess):

- every value of a ``headers`` or ``env`` table (an ``Authorization`` header, a token in a
  server's environment): their keys are free-form, so no name tells a secret from the rest;
- every string field whose name looks secret (``api_key``, ``token``, ``password``,
  ``client_secret``, ``authorization``, ``credentials``...), at any depth, and every
  ``SecretStr``;
- in URLs: the userinfo's password (``postgresql://u:***@h/db``, ``redis://:***@host``), a
  bare userinfo (``https://***@host``, where tokens sit), and secret-looking query
  parameters (``?token=***``);
- in lists of strings (a server's ``args``): the value after a secret-looking flag
  (``--api-key ***``), and ``NAME=value`` / ``Name: value`` items with a secret-looking name.

Everything else, and the shape (every key, ``None`` for what is unset), stays as it was, so
a reader still sees which fields exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python

MASK = "***"

# tables whose every value is masked: free-form names, and values that are often secrets
SECRET_TABLES = frozenset({"headers", "env"})
# words that make a name secret; a name is split into words at _, -, . and camelCase
SECRET_WORDS = frozenset(
    {
        "apikey", "auth", "authorization", "bearer", "cookie", "credential", "key",
        "passphrase", "passwd", "password", "pwd", "secret", "sig", "signature", "token",
    }
)  # fmt: skip
# joined forms that word splitting cannot find ("apikey" and "accesstoken" are one word)
SECRET_INFIXES = ("apikey", "password", "passwd", "secret", "token", "credential")

_WORD_BOUNDARY = re.compile(r"[^0-9a-zA-Z]+|(?<=[a-z0-9])(?=[A-Z])")
_ASSIGNMENT = re.compile(r"^(\s*[\w.-]+\s*)([=:])(\s*)(.+)$", re.DOTALL)
# userinfo as SQLAlchemy reads it: a user without / : ? #, then a password that may hold
# anything but @ (a raw / or ? in a password must not end the match and leak the rest)
_USERINFO = re.compile(r"([^:/?#@]*)(?::([^@]*))?@")


def is_secret_name(name: str) -> bool:
    """Whether a field, header, parameter or flag called ``name`` holds a secret."""
    words = [w.lower() for w in _WORD_BOUNDARY.split(name.lstrip("-")) if w]
    if any(w in SECRET_WORDS or (w.endswith("s") and w[:-1] in SECRET_WORDS) for w in words):
        return True
    joined = "".join(words)
    return any(infix in joined for infix in SECRET_INFIXES)


def mask_url(url: str) -> str:
    """``url`` without its credentials: the userinfo's password (or a bare userinfo) and
    secret-looking query parameters become ``***``. A string without ``://`` is returned as
    it is; the rest is left byte for byte (no re-encoding, ``sqlite:////abs`` stays)."""
    begin = url.find("://")
    if begin < 0:
        return url
    head, rest = url[: begin + 3], url[begin + 3 :]
    userinfo = _USERINFO.match(rest)
    if userinfo is not None:
        head += (f"{userinfo.group(1)}:{MASK}" if userinfo.group(2) is not None else MASK) + "@"
        rest = rest[userinfo.end() :]
    path, question, query = rest.partition("?")
    if not question:
        return head + rest
    query, hashmark, fragment = query.partition("#")
    masked_query = "&".join(_mask_parameter(p) for p in query.split("&"))
    return f"{head}{path}?{masked_query}{hashmark}{fragment}"


def _mask_parameter(parameter: str) -> str:
    name, equals, _value = parameter.partition("=")
    return f"{name}={MASK}" if equals and is_secret_name(unquote(name)) else parameter


def masked(data: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a settings model, or any mapping) as JSON-ready data with every secret
    masked (see the module doc)."""
    raw = data.model_dump() if isinstance(data, BaseModel) else dict(data)
    return {str(k): _value(str(k), v) for k, v in raw.items()}


def _value(name: str, value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, BaseModel):
        return masked(value)
    if isinstance(value, Mapping):
        if name.lower() in SECRET_TABLES:
            return {str(k): None if v is None else MASK for k, v in value.items()}
        return {str(k): _value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return _sequence(name, value)
    if isinstance(value, str):
        if value and is_secret_name(name):
            return MASK
        return mask_url(value)
    return to_jsonable_python(value)


def _sequence(name: str, items: list[Any] | tuple[Any, ...]) -> list[Any]:
    if is_secret_name(name):  # api_keys = ["...", "..."]
        return [MASK if isinstance(i, str) and i else _value(name, i) for i in items]
    out: list[Any] = []
    secret_next = False  # the previous item was a secret-looking flag: this is its value
    for item in items:
        if not isinstance(item, str):
            out.append(_value(name, item))
            secret_next = False
            continue
        if secret_next and not item.startswith("-"):
            out.append(MASK)
            secret_next = False
            continue
        secret_next = item.startswith("-") and "=" not in item and is_secret_name(item)
        out.append(_item(item))
    return out


def _item(item: str) -> str:
    """One string of a list: ``--flag=value``, ``NAME=value`` or ``Name: value`` with a secret
    name loses its value; anything else is masked as a URL would be."""
    match = _ASSIGNMENT.match(item.lstrip("-")) if "://" not in item.split("=")[0] else None
    if match is not None and is_secret_name(match.group(1).strip()):
        prefix = item[: len(item) - len(item.lstrip("-"))]
        return f"{prefix}{match.group(1)}{match.group(2)}{match.group(3)}{MASK}"
    return mask_url(item)
