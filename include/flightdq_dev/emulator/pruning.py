"""Partition pruning for the emulated Athena: which columns a query reads, and the condition on the
partition keys alone that its WHERE clauses put on a table (DuckDB then evaluates it over the
registered partitions' values)."""

from __future__ import annotations

from typing import Any


def referenced_columns(tree: Any) -> set[str] | None:
    """Column names the query reads; None when it selects `*` (every column)."""
    from sqlglot import exp

    for star in tree.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Select) or (
            isinstance(parent, exp.Column) and isinstance(parent.parent, exp.Select)
        ):
            return None
    return {c.name.lower() for c in tree.find_all(exp.Column)}


def partition_filter(references: list[Any], keys: set[str]) -> str | None:
    """DuckDB SQL over the partition keys that keeps the partitions the query can read: for each
    reference to the table, the AND of its WHERE conjuncts that use only the table's partition keys
    (no subqueries), the references OR-ed. None (read every partition) when a reference has none."""
    from sqlglot import exp

    alternatives = []
    for table in references:
        select = table.find_ancestor(exp.Select)
        where = select.args.get("where") if select is not None else None
        names = {table.name.lower(), table.alias_or_name.lower()}
        kept = []
        for conjunct in _conjuncts(where.this) if where is not None else []:
            columns = list(conjunct.find_all(exp.Column))
            if (
                columns
                and not conjunct.find(exp.Select)
                and all(c.name.lower() in keys and (not c.table or c.table.lower() in names) for c in columns)
            ):
                conjunct = conjunct.copy()
                for column in conjunct.find_all(exp.Column):
                    column.set("table", None)
                kept.append(f"({conjunct.sql(dialect='duckdb')})")
        if not kept:
            return None
        alternatives.append(" AND ".join(kept))
    return " OR ".join(f"({a})" for a in alternatives)


def _conjuncts(node: Any) -> list[Any]:
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]
