"""The data service's `query` object, `complexQuery` and ordering, evaluated over stored rows.

A query compiles once into a plain predicate over stored rows (tuples, see store.py), with values
converted to the column's stored form up front, plus an optional set of AN8s or range of AN8s that lets
the caller read candidates through the store's AN8 index instead of scanning, as a database reads an
indexed key range (the initial load's AN8 slices, jde/slices.py: a scan per slice would make the emulator,
not the client, the cost of more read sessions). The predicate still decides which candidates match.

Design decisions for [UNCONFIRMED] behaviour (docs/ais.md, The data service):
- `complexQuery` elements combine strictly left to right with no precedence:
  `((q1 andOr2 q2) andOr3 q3) …`; the first element's `andOr` is checked (AND/OR) but has no effect.
  Each element's `query` may itself hold `condition` and `complexQuery`.
- A `condition` list (combined by `matchType`) next to a `complexQuery` is ANDed with it.
- No conditions at all: every row matches (the disputed "0 rows" claim is not reproduced).
- Date literals (`LITERAL` on a date column) are parsed with the token user's `simpleDateFormat` only,
  strictly: `yyyyMMdd`, Julian numbers or ISO dates are refused with an error naming the format.
  `TODAY`, `TODAY_MINUS_DAY|MONTH|YEAR` and `TODAY_PLUS_DAY|MONTH|YEAR` take the offset in `content`.
- String comparisons follow CHAR semantics: trailing blanks are insignificant, leading blanks and case
  count. STR_BLANK / STR_NOT_BLANK work on string columns and on dates (blank date = 0).
- EQUAL and the other one-value operators take exactly one value, BETWEEN two (inclusive), LIST one
  or more; anything else is an error rather than a guess.
- Ordering: `aggregation.orderBy` if given, else a top-level `orderBy`; ties and the default follow the
  primary key.
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from jde_mc_pipeline.emulators.ais.formats import parse_date_literal, to_julian
from jde_mc_pipeline.emulators.ais.store import Row, position
from jde_mc_pipeline.emulators.ais.values import default, to_db
from jde_mc_pipeline.jde.tables import Column, Table

Predicate = Callable[[Row], bool]


class QueryError(ValueError):
    """A request the data service cannot run; the message says which part and why."""


@dataclass(frozen=True)
class QueryContext:
    """What literals depend on: the token user's date format, today's date and the user's name."""

    simple_date_format: str
    today: date
    username: str


@dataclass(frozen=True)
class Plan:
    """A compiled query: `predicate` (None = all rows), `an8s` (None = no index restriction) and
    `an8_range` (inclusive (low, high), either None for open; None = no range restriction)."""

    predicate: Predicate | None
    an8s: frozenset[Any] | None
    an8_range: tuple[Any, Any] | None = None


_COMPARE = {
    "EQUAL": operator.eq,
    "NOT_EQUAL": operator.ne,
    "GREATER": operator.gt,
    "GREATER_EQUAL": operator.ge,
    "LESS": operator.lt,
    "LESS_EQUAL": operator.le,
}
_STRING_MATCH = {
    "STR_START_WITH": str.startswith,
    "STR_CONTAIN": str.__contains__,
    "STR_END_WITH": str.endswith,
}
_OPERATORS = {*_COMPARE, *_STRING_MATCH, "BETWEEN", "LIST", "STR_BLANK", "STR_NOT_BLANK"}
_TODAY = {"TODAY", *(f"TODAY_{way}_{unit}" for way in ("MINUS", "PLUS") for unit in ("DAY", "MONTH", "YEAR"))}


def compile_query(spec: Table, query: Any, context: QueryContext) -> Plan:
    """Compile a request's `query` (None or missing: all rows)."""
    if query is None:
        return Plan(None, None)
    predicate, index = _group(spec, query, context, "query")
    if isinstance(index, AN8Range):
        return Plan(predicate, None, (index.low, index.high))
    return Plan(predicate, index)


def order_by(spec: Table, request: dict[str, Any]) -> list[tuple[int, bool]]:
    """`[(position in a stored row, descending)]` from `aggregation.orderBy` or a top-level `orderBy`."""
    aggregation = request.get("aggregation") or {}
    if not isinstance(aggregation, dict):
        raise QueryError("aggregation must be an object")
    entries = aggregation.get("orderBy") or request.get("orderBy") or []
    if not isinstance(entries, list):
        raise QueryError("orderBy must be a list of {column, direction}")
    order = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise QueryError(f"orderBy entry {entry!r} must be an object with column and direction")
        column = _column(spec, entry.get("column"), "orderBy column")
        direction = str(entry.get("direction", "ASC")).upper()
        if direction not in ("ASC", "DESC"):
            raise QueryError(f"orderBy direction must be ASC or DESC, not {entry.get('direction')!r}")
        order.append((position(spec, column.alias), direction == "DESC"))
    return order


def sort_rows(rows: list[Row], order: list[tuple[int, bool]]) -> list[Row]:
    """Rows (already in primary-key order) sorted stably by `order`."""
    for name, descending in reversed(order):
        rows = sorted(rows, key=lambda row, name=name: row[name], reverse=descending)
    return rows


def _group(spec: Table, query: Any, context: QueryContext, where: str) -> tuple[Predicate | None, Any]:
    if not isinstance(query, dict):
        raise QueryError(f"{where} must be an object")
    conditions = query.get("condition") or []
    if not isinstance(conditions, list):
        raise QueryError(f"{where}.condition must be a list")
    match = str(query.get("matchType", "MATCH_ALL")).upper()
    if match not in ("MATCH_ALL", "MATCH_ANY"):
        raise QueryError(f"{where}.matchType must be MATCH_ALL or MATCH_ANY, not {query.get('matchType')!r}")
    compiled = [_condition(spec, c, context, f"{where}.condition[{i}]") for i, c in enumerate(conditions)]
    predicates = [predicate for predicate, _ in compiled]
    an8s = None
    if match == "MATCH_ALL" or len(compiled) == 1:
        for _, values in compiled:
            an8s = _narrower(an8s, values)
    group = _all(predicates) if match == "MATCH_ALL" else _any(predicates)
    complex_predicate = _complex(spec, query.get("complexQuery"), context, where)
    if group and complex_predicate:
        return _all([group, complex_predicate]), an8s
    return group or complex_predicate, an8s


def _complex(spec: Table, elements: Any, context: QueryContext, where: str) -> Predicate | None:
    if elements is None:
        return None
    if not isinstance(elements, list):
        raise QueryError(f"{where}.complexQuery must be a list of {{andOr, query}}")
    result: Predicate | None = None
    for index, element in enumerate(elements):
        path = f"{where}.complexQuery[{index}]"
        if not isinstance(element, dict):
            raise QueryError(f"{path} must be an object with andOr and query")
        and_or = str(element.get("andOr", "AND")).upper()
        if and_or not in ("AND", "OR"):
            raise QueryError(f"{path}.andOr must be AND or OR, not {element.get('andOr')!r}")
        predicate, _ = _group(spec, element.get("query"), context, f"{path}.query")
        predicate = predicate or _always
        if result is None:
            result = predicate
        else:
            result = _all([result, predicate]) if and_or == "AND" else _any([result, predicate])
    return result


def _condition(spec: Table, condition: Any, context: QueryContext, where: str) -> tuple[Predicate, Any]:
    if not isinstance(condition, dict):
        raise QueryError(f"{where} must be an object with controlId, operator and value")
    column = _column(spec, condition.get("controlId"), f"{where}.controlId")
    name = position(spec, column.alias)
    op = str(condition.get("operator", "")).upper()
    if op not in _OPERATORS:
        raise QueryError(f"{where}: unknown operator {condition.get('operator')!r}")
    if op in ("STR_BLANK", "STR_NOT_BLANK"):
        if column.kind not in ("string", "date"):
            raise QueryError(
                f"{where}: {op} needs a string or date column, {spec.name}.{column.alias} is not"
            )
        blank = default(column)
        if op == "STR_BLANK":
            return (lambda row: row[name] == blank), None
        return (lambda row: row[name] != blank), None
    raw = condition.get("value")
    if not isinstance(raw, list) or not raw:
        raise QueryError(f"{where}: {op} needs a non-empty value list")
    wanted = {"BETWEEN": 2}.get(op, 1)
    if op != "LIST" and len(raw) != wanted:
        raise QueryError(f"{where}: {op} takes exactly {wanted} value(s), got {len(raw)}")
    values = [_value(spec, column, item, context, f"{where}.value[{i}]") for i, item in enumerate(raw)]
    if op in _STRING_MATCH:
        if column.kind != "string":
            raise QueryError(f"{where}: {op} needs a string column, {spec.name}.{column.alias} is not")
        test, text = _STRING_MATCH[op], values[0]
        return (lambda row: test(row[name], text)), None
    if op == "LIST":
        members = frozenset(values)
        return (lambda row: row[name] in members), (members if column.alias == "AN8" else None)
    if op == "BETWEEN":
        low, high = values
        return (lambda row: low <= row[name] <= high), (
            AN8Range(low, high) if column.alias == "AN8" else None
        )
    compare, value = _COMPARE[op], values[0]
    index: Any = None
    if column.alias == "AN8":
        index = {
            "EQUAL": frozenset(values),
            "GREATER": AN8Range(value, None),
            "GREATER_EQUAL": AN8Range(value, None),
            "LESS": AN8Range(None, value),
            "LESS_EQUAL": AN8Range(None, value),
        }.get(op)
    return (lambda row: compare(row[name], value)), index


@dataclass(frozen=True)
class AN8Range:
    """Candidate AN8s `low <= AN8 <= high` (None: open): a superset for GREATER and LESS, which the
    predicate then narrows."""

    low: Any
    high: Any

    def __and__(self, other: AN8Range) -> AN8Range:
        low = self.low if other.low is None else other.low if self.low is None else max(self.low, other.low)
        high = (
            self.high
            if other.high is None
            else other.high
            if self.high is None
            else min(self.high, other.high)
        )
        return AN8Range(low, high)


def _narrower(index: Any, other: Any) -> Any:
    """Two candidate restrictions of one AND-group combined: sets intersect, ranges intersect, and a set
    beats a range (the predicate applies the range to the set's rows)."""
    if index is None or other is None:
        return other if index is None else index
    if isinstance(index, AN8Range) and isinstance(other, AN8Range):
        return index & other
    if isinstance(index, AN8Range):
        return other
    if isinstance(other, AN8Range):
        return index
    return index & other


def _value(spec: Table, column: Column, item: Any, context: QueryContext, where: str) -> Any:
    if not isinstance(item, dict) or (
        "content" not in item and item.get("specialValueId") in (None, "LITERAL")
    ):
        raise QueryError(f"{where} must be an object with content (and specialValueId)")
    special = str(item.get("specialValueId") or "LITERAL").upper()
    content = item.get("content")
    if special == "LOGIN_USER":
        return context.username
    if special in _TODAY:
        if column.kind != "date":
            raise QueryError(f"{where}: {special} needs a date column, {spec.name}.{column.alias} is not")
        return to_julian(_shift(context.today, special, content, where))
    if special != "LITERAL":
        raise QueryError(f"{where}: unknown specialValueId {item.get('specialValueId')!r}")
    if column.kind == "date":
        if not isinstance(content, str):
            raise QueryError(
                f"{where}: date literal {content!r} for {spec.name}.{column.alias} must be a string "
                f"in the user's date format {context.simple_date_format}"
            )
        try:
            return to_julian(parse_date_literal(content, context.simple_date_format))
        except ValueError:
            raise QueryError(
                f"{where}: date literal {content!r} for {spec.name}.{column.alias} does not match "
                f"the user's date format {context.simple_date_format}"
            ) from None
    if column.kind == "string" and isinstance(content, int | float) and not isinstance(content, bool):
        content = str(content)
    try:
        value = to_db(column, content)
    except ValueError as error:
        raise QueryError(f"{where}: bad value for {spec.name}.{column.alias}: {error}") from None
    return value


def _shift(today: date, special: str, content: Any, where: str) -> date:
    if special == "TODAY":
        return today
    try:
        amount = int(str(content).strip())
    except ValueError:
        raise QueryError(
            f"{where}: {special} needs a whole number of units in content, not {content!r}"
        ) from None
    if "_MINUS_" in special:
        amount = -amount
    if special.endswith("_DAY"):
        return today + timedelta(days=amount)
    months = amount * (12 if special.endswith("_YEAR") else 1)
    year, month = divmod(today.year * 12 + today.month - 1 + months, 12)
    month += 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _column(spec: Table, control_id: Any, where: str) -> Column:
    if not isinstance(control_id, str) or "." not in control_id:
        raise QueryError(f"{where} must be TABLE.ALIAS such as {spec.name}.AN8, not {control_id!r}")
    table_name, alias = control_id.split(".", 1)
    if table_name.upper() != spec.name:
        raise QueryError(f"{where} {control_id!r} does not belong to the target {spec.name}")
    try:
        return spec.column(alias.upper())
    except KeyError:
        raise QueryError(f"{where}: {spec.name} has no column {alias!r}") from None


def _always(row: Row) -> bool:
    return True


def _all(predicates: list[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda row: all(predicate(row) for predicate in predicates)


def _any(predicates: list[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda row: any(predicate(row) for predicate in predicates)
