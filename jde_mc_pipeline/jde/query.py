"""AIS query conditions, built as plain values and rendered to the data-service JSON at send time.

Rendering waits until the request is sent because date literals must be written in the token user's
`simpleDateFormat` (docs/ais.md), which is only known after the token request.

A `Query` is a disjunction of conjunctions (OR of AND-groups). One group is sent as
`query.condition[]` with `MATCH_ALL`. Several groups are sent as `query.complexQuery[]`, each element a
`MATCH_ALL` query and every element after the first joined with `"andOr": "OR"`. How AIS applies `andOr`
(left to right or with precedence) and how `complexQuery` mixes with a sibling `condition[]` are
unconfirmed, and an OR of ANDs reads the same under every interpretation, so the client never
sends anything else: extra conditions are distributed into every group (`Query.and_`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jde_mc_pipeline.jde.dates import format_date_literal

OPERATORS = frozenset(
    {
        "EQUAL",
        "NOT_EQUAL",
        "GREATER",
        "GREATER_EQUAL",
        "LESS",
        "LESS_EQUAL",
        "BETWEEN",
        "LIST",
        "STR_BLANK",
        "STR_NOT_BLANK",
        "STR_CONTAIN",
        "STR_START_WITH",
        "STR_END_WITH",
    }
)


@dataclass(frozen=True)
class Condition:
    """`alias operator values`, e.g. `Condition("UPMJ", "GREATER", (date(2025, 1, 15),))`.

    Values are ints, strings or `datetime.date`s; dates are written in the user's date format.
    """

    alias: str
    operator: str
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ValueError(f"unknown AIS operator {self.operator!r}")

    def to_json(self, table: str, date_pattern: str | None) -> dict[str, Any]:
        """The `condition[]` element for `table`, values as strings (the client sends strings)."""
        element: dict[str, Any] = {"controlId": f"{table}.{self.alias}", "operator": self.operator}
        if self.operator not in ("STR_BLANK", "STR_NOT_BLANK"):
            element["value"] = [
                {"content": _literal(v, date_pattern), "specialValueId": "LITERAL"} for v in self.values
            ]
        return element


def _literal(value: Any, date_pattern: str | None) -> str:
    if isinstance(value, dt.datetime):
        raise TypeError("condition values are dates, not datetimes: JDE compares UPMJ and UPMT apart")
    if isinstance(value, dt.date):
        if date_pattern is None:
            raise ValueError("the token response gave no user date format to write date conditions in")
        return format_date_literal(value, date_pattern)
    return str(value)


@dataclass(frozen=True)
class Query:
    """An OR of AND-groups of conditions; `Query(())` (no groups) means every row."""

    groups: tuple[tuple[Condition, ...], ...]

    @classmethod
    def all_of(cls, *conditions: Condition) -> Query:
        """One AND-group: every condition must hold (no conditions: every row)."""
        return cls((tuple(conditions),) if conditions else ())

    @classmethod
    def any_of(cls, *groups: Sequence[Condition]) -> Query:
        """An OR of AND-groups."""
        return cls(tuple(tuple(group) for group in groups))

    def and_(self, *conditions: Condition) -> Query:
        """This query with `conditions` also required, distributed into every group."""
        if not self.groups:
            return Query.all_of(*conditions)
        return Query(tuple(group + tuple(conditions) for group in self.groups))

    def to_json(self, table: str, date_pattern: str | None) -> dict[str, Any] | None:
        """The data-service `query` object, or None for "every row" (then no `query` is sent)."""
        if not self.groups:
            return None
        if len(self.groups) == 1:
            return {
                "autoFind": True,
                "matchType": "MATCH_ALL",
                "condition": [c.to_json(table, date_pattern) for c in self.groups[0]],
            }
        return {
            "autoFind": True,
            "complexQuery": [
                {
                    "andOr": "AND" if index == 0 else "OR",
                    "query": {
                        "matchType": "MATCH_ALL",
                        "condition": [c.to_json(table, date_pattern) for c in group],
                    },
                }
                for index, group in enumerate(self.groups)
            ],
        }
