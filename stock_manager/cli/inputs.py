"""Reading what the user typed: ``K=V`` parameters and JSON bodies (inline, ``@file`` or ``-``)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .failures import CliUsageError

__all__ = ["parse_body", "parse_params"]


def parse_params(pairs: Sequence[str]) -> dict[str, str]:
    """``["FID_INPUT_ISCD=005930", ...]`` as a dict; a later key wins over an earlier one."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliUsageError(
                f"--param takes KEY=VALUE (e.g. FID_INPUT_ISCD=005930), not {pair!r}"
            )
        params[key] = value
    return params


def read_text(source: str) -> str:
    """The text ``source`` names: ``-`` is stdin, ``@path`` a file, anything else itself."""
    if source == "-":
        return sys.stdin.read()
    if source.startswith("@"):
        path = Path(source[1:]).expanduser()
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CliUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CliUsageError(f"{path} is not UTF-8 text") from None
    return source


def parse_body(source: str) -> dict[str, Any]:
    """A JSON object from inline text, ``@file.json`` or ``-`` (stdin)."""
    text = read_text(source)
    where = "stdin" if source == "-" else source[1:] if source.startswith("@") else "the body"
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        why = (
            f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "nested too deeply"
        )
        raise CliUsageError(
            f"{where} is not valid JSON ({why}); "
            'pass an object such as \'{"PDNO": "005930"}\', @file.json or - for stdin'
        ) from None
    if not isinstance(data, dict):
        raise CliUsageError(f"{where} must be a JSON object, not a JSON {type(data).__name__}")
    return data
