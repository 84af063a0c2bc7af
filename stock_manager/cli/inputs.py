"""Reading what the user typed: ``K=V`` parameters and JSON bodies (inline, ``@file`` or ``-``)."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .failures import CliUsageError

__all__ = ["MAX_INPUT_BYTES", "parse_body", "parse_params", "read_text"]

#: The most a body may hold: an order body is a few hundred bytes, and reading stops here, so
#: ``@/dev/zero`` or an endless stdin cannot fill the memory.
MAX_INPUT_BYTES = 1024 * 1024


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
    """The text ``source`` names: ``-`` is stdin, ``@path`` a regular file, anything else
    itself; at most :data:`MAX_INPUT_BYTES` of UTF-8."""
    if source == "-":
        return _decoded(sys.stdin.buffer.read(MAX_INPUT_BYTES + 1), "stdin")
    if source.startswith("@"):
        path = Path(source[1:]).expanduser()
        return _decoded(_read_regular_file(path), str(path))
    return source


def _read_regular_file(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise CliUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise CliUsageError(
                f"{path} is not a regular file: pass a JSON file, inline JSON or - for stdin"
            )
        try:
            return file.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise CliUsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _decoded(data: bytes, where: str) -> str:
    if len(data) > MAX_INPUT_BYTES:
        raise CliUsageError(
            f"{where} holds more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; an order body is "
            "a few hundred bytes: pass one JSON object"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliUsageError(f"{where} is not UTF-8 text") from None


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
