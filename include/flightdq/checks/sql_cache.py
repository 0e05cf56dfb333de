"""Rendered SQL kept on disk, so a run whose statements were rendered before never imports sqlglot.

Rendering is pure: the same template (or suite), dialect, flightdq code and sqlglot give the same
text. Importing sqlglot and rendering with it cost about half a second, as much as a whole day's
scan, in every `flightdq validate` and every Airflow task. So each statement is rendered once with
placeholder literals (`'__flightdq_start_dt__'`) standing for its values, kept under a key made of
everything the text depends on (the inputs, the dialect, the source of the modules that render
and the installed sqlglot's files), and later runs put the quoted values in place of the
placeholders. A value is always a string literal, quoted by doubling `'` (Trino and DuckDB alike).

The folder is `$FLIGHTDQ_SQL_CACHE`, else `$XDG_CACHE_HOME/flightdq/sql` or `~/.cache/flightdq/sql`;
`FLIGHTDQ_SQL_CACHE=off` turns the cache off. A cache that cannot be read or written is ignored
(the statement is rendered in place): it holds nothing that cannot be made again.

Why it stays (issue 21 asked): it is not about parsing DAG files, which import neither sqlglot nor
this module (`flightdq_dev.bench_parse`). It is about every `flightdq validate` and every check task:
rendering every template in both dialects and compiling the suite takes a median of 157 ms with
the cache off against 49 ms from it (7 fresh processes each); a whole one-day `validate` of a
small lake, a median of 1.21 s against 0.81 s (2 cores, loaded). Rendering at build time would
still need this placeholder scheme, for a suite edited after the build.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

CACHE_ENV = "FLIGHTDQ_SQL_CACHE"
Values = Mapping[str, str | Sequence[str]]
_CHECKS = Path(__file__).resolve().parent
# The modules whose code decides the rendered text.
_RENDERERS = ("sql_cache.py", "queries.py", "suite_sql/*.py")


def folder() -> Path | None:
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured.lower() == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "flightdq" / "sql"


def render(kind: str, inputs: str, values: Values, build: Callable[[Values], str]) -> str:
    """The statement `build(values)` would give, from the cache when it can be.

    `kind` and `inputs` (a template's text, a suite's JSON with the options) name what is rendered;
    `values` are the statement's string values (a list for an IN list), placed by `build` as
    string literals. Cached: `build` is called with placeholders instead, once."""
    placeholders: dict[str, str | list[str]] = {}
    for name, value in values.items():
        placeholders[name] = [_placeholder(name)] if _is_list(value) else _placeholder(name)
    shape = {name: _is_list(value) for name, value in sorted(values.items())}
    key = _key(kind, inputs, json.dumps(shape))
    text = _read(key)
    if text is None:
        text = build(placeholders)
        if not all(f"'{_placeholder(name)}'" in text for name in values):
            return build(values)  # a placeholder did not survive as a literal: do not cache
        _write(key, text)
    for name, value in values.items():
        literal = ", ".join(_quote(v) for v in value) if _is_list(value) else _quote(value)
        text = text.replace(f"'{_placeholder(name)}'", literal)
    return text


def cached_json(kind: str, inputs: str, build: Callable[[], object]) -> object:
    """`build()` (plain JSON data), from the cache when it can be."""
    key = _key(kind, inputs, "json")
    text = _read(key)
    if text is not None:
        return json.loads(text)
    data = build()
    _write(key, json.dumps(data, sort_keys=True))
    return data


def _is_list(value: str | Sequence[str]) -> bool:
    return not isinstance(value, str)


def _placeholder(name: str) -> str:
    return f"__flightdq_{name}__"


def _quote(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"SQL values are strings here, not {type(value).__name__}")
    return "'" + value.replace("'", "''") + "'"


def _key(*parts: str) -> str:
    digest = hashlib.sha256(_code_fingerprint().encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


@functools.cache
def _code_fingerprint() -> str:
    """The source of the modules that render, and which sqlglot is installed (found, not imported)."""
    digest = hashlib.sha256()
    for pattern in _RENDERERS:
        for path in sorted(_CHECKS.glob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    spec = importlib.util.find_spec("sqlglot")
    if spec is not None and spec.origin:
        for path in sorted(Path(spec.origin).parent.glob("*.py")):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _read(key: str) -> str | None:
    where = folder()
    if where is None:
        return None
    try:
        return (where / f"{key}.sql").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write(key: str, text: str) -> None:
    where = folder()
    if where is None:
        return
    tmp: str | None = None
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(where / f"{key}.sql")  # atomic: a reader sees the whole text or none
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
