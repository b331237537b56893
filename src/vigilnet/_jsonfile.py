"""Reading a JSON file that someone else wrote: a trace, a vector file.

Such a file is data from outside, so reading it must end in a value or in one
:class:`BadFileError` that says what is wrong, never in a stray exception.
:func:`read_json` bounds everything that would otherwise cost without limit
or escape as something else:

* size: at most ``max_bytes`` bytes are read (a device such as ``/dev/zero``
  or a huge file is refused, not read to the end);
* text: the bytes must be UTF-8 (``UnicodeDecodeError`` otherwise);
* nesting: arrays and objects nest at most ``max_depth`` deep, counted on the
  text before parsing (the parser recurses, and ``RecursionError`` would
  escape it);
* numbers: an integer has at most :data:`MAX_INT_DIGITS` digits (Python's own
  limit of 4,300 raises ``ValueError`` from deep inside the parser), floats
  are refused unless ``floats=True``, and ``NaN`` / ``Infinity`` (which are
  not JSON) are always refused;
* the path must be a regular file (a directory, a missing file or one that
  cannot be read is a :class:`BadFileError`, as every ``OSError`` is).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from vigilnet.errors import RemoteProtocolError

__all__ = ["MAX_INT_DIGITS", "BadFileError", "read_json", "too_deep"]

#: Digits (sign excluded) of the longest integer :func:`read_json` accepts.
MAX_INT_DIGITS = 1000

# A JSON string (escapes included) or one bracket: strings are skipped whole so
# that brackets inside them are not counted.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class BadFileError(RemoteProtocolError, ValueError):
    """A file given to vigilnet is not what it must be: unreadable, not
    UTF-8, not JSON, too large or too deep, or not of the expected shape.
    The command line answers it with ``error: ...`` and exit status 2."""


def too_deep(text: str, max_depth: int) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than
    ``max_depth`` deep (exact for valid JSON; linear in the text)."""
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadFileError(
            f"an integer of {len(text.lstrip('-')):,} digits (at most {MAX_INT_DIGITS:,})"
        )
    return int(text)


def _no_float(text: str) -> float:
    raise BadFileError(f"a floating-point number {text[:40]} (only integers are allowed)")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise BadFileError(f"a number {text[:40]} too large for a float")
    return value


def _not_json(name: str) -> float:
    raise BadFileError(f"{name} is not a JSON number")


def read_json(
    path: Path, *, what: str, max_bytes: int, max_depth: int, floats: bool = False
) -> Any:
    """The JSON value in ``path``; ``what`` names the file in errors
    ("trace", "vector file").  Raises :class:`BadFileError`."""
    try:
        if not path.is_file():
            raise BadFileError(
                f"{what} {path} is a directory, not a file"
                if path.is_dir()
                else f"{what} {path} is not a regular file"
                if path.exists()
                else f"no {what} {path}"
            )
        with path.open("rb") as stream:
            raw = stream.read(max_bytes + 1)
    except OSError as error:
        raise BadFileError(f"cannot read {what} {path}: {error.strerror or error}") from error
    if len(raw) > max_bytes:
        raise BadFileError(f"{what} {path} is larger than {max_bytes:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadFileError(
            f"{what} {path} is not UTF-8 (byte {error.start}: {raw[error.start]:#04x})"
        ) from error
    if too_deep(text, max_depth):
        raise BadFileError(f"{what} {path} nests arrays or objects more than {max_depth} deep")
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_finite_float if floats else _no_float,
            parse_constant=_not_json,
        )
    except BadFileError as error:
        raise BadFileError(f"{what} {path}: {error}") from error
    except (json.JSONDecodeError, ValueError, RecursionError) as error:
        raise BadFileError(f"{what} {path} is not JSON: {error}") from error
