"""Case-insensitive "contains" that each database runs natively, with bound parameters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement, literal


class icontains(FunctionElement[bool]):
    """``column`` contains ``text``, ignoring case; LIKE wildcards in ``text`` are literal."""

    type = Boolean()
    inherit_cache = True
    name = "icontains"


def contains_text(column: ColumnElement[Any], text: str) -> icontains:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return icontains(column, literal(f"%{escaped}%"))


@compiles(icontains)
def _generic(element: icontains, compiler: Any, **kw: Any) -> str:
    column, pattern = list(element.clauses)
    return (
        f"lower({compiler.process(column, **kw)}) LIKE lower({compiler.process(pattern, **kw)})"
        " ESCAPE '\\'"
    )


@compiles(icontains, "sqlite")
def _sqlite(element: icontains, compiler: Any, **kw: Any) -> str:
    # SQLite's LIKE already ignores ASCII case; skipping lower() saves a call per row.
    # Non-ASCII letters then match case-sensitively, which search can live with.
    column, pattern = list(element.clauses)
    return f"{compiler.process(column, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\'"


@compiles(icontains, "postgresql")
def _postgresql(element: icontains, compiler: Any, **kw: Any) -> str:
    column, pattern = list(element.clauses)
    return f"{compiler.process(column, **kw)} ILIKE {compiler.process(pattern, **kw)} ESCAPE '\\'"
