"""Partition pruning for the emulated Athena: which columns a query reads, and which partitions its
WHERE clauses keep (=, IN, BETWEEN, <, <=, >, >= on string partition keys with literals, AND-ed)."""

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


def partition_predicate(references: list[Any], keys: set[str]) -> Any:
    """A test on partition values from the WHERE clauses that filter each reference to the table on
    string partition keys (=, IN, BETWEEN, <, <=, >, >= with literals, AND-ed), or None (read all)."""
    from sqlglot import exp

    alternatives = []
    for table in references:
        select = table.find_ancestor(exp.Select)
        where = select.args.get("where") if select is not None else None
        if where is None:
            return None
        names = {table.name.lower(), table.alias_or_name.lower()}
        tests = [t for c in _conjuncts(where.this) if (t := _key_test(c, keys, names)) is not None]
        if not tests:
            return None
        alternatives.append(tests)
    return lambda values: any(all(test(values) for test in tests) for tests in alternatives)


def _conjuncts(node: Any) -> list[Any]:
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _key_test(node: Any, keys: set[str], names: set[str]) -> Any:
    from sqlglot import exp

    def key_of(n: Any) -> str | None:
        if isinstance(n, exp.Column) and n.name.lower() in keys and (not n.table or n.table.lower() in names):
            return n.name.lower()
        return None

    def literal(n: Any) -> str | None:
        return n.this if isinstance(n, exp.Literal) and n.is_string else None

    if isinstance(node, exp.Between):
        key, low, high = key_of(node.this), literal(node.args.get("low")), literal(node.args.get("high"))
        if key and low is not None and high is not None:
            return lambda v: low <= v[key] <= high
        return None
    if isinstance(node, exp.In):
        key, options = key_of(node.this), [literal(e) for e in node.expressions]
        if key and options and None not in options:
            return lambda v: v[key] in options
        return None
    ops = {
        exp.EQ: lambda a, b: a == b,
        exp.GT: lambda a, b: a > b,
        exp.GTE: lambda a, b: a >= b,
        exp.LT: lambda a, b: a < b,
        exp.LTE: lambda a, b: a <= b,
    }
    flipped = {exp.EQ: exp.EQ, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}
    for kind, compare in ops.items():
        if type(node) is kind:
            key, value = key_of(node.left), literal(node.right)
            if key is None:  # literal on the left: flip the comparison
                key, value, compare = key_of(node.right), literal(node.left), ops[flipped[kind]]
            if key and value is not None:
                return lambda v, key=key, value=value, compare=compare: compare(v[key], value)
    return None
