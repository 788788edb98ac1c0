"""Segment fields: JDE category codes sent as merge fields or as connector-owned tags (docs/mapping.md).

Why configured and not coded: which category code means "customer type" or "region" differs in every
JDE installation (AC01 is division in one, customer class in another), so the marketer's segments are a
list of `SegmentField`s in the settings. Each names one JDE column and sends either its code or its
user-defined-code description (F0005 DL01) to a merge field (text or dropdown), or to a tag whose name
is a fixed prefix plus the value (`JDE Region: West`). The prefix is what makes the tag ours: a tag of
the member that starts with it is owned by the connector, every other tag is the marketer's and is
never touched.

A column's UDC is a JDE fact, not a setting: address-book category code n (F0101.ACnn, and the copy
F03012 keeps, ACnn) is UDC 01/nn; the customer price group F03012.CPGP is UDC 40/PC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jde_mc_pipeline.jde.tables import TABLES, Table

SEGMENT_TYPES: tuple[str, ...] = ("text", "dropdown")
SEGMENT_VALUES: tuple[str, ...] = ("description", "code")
MERGE_TAG = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")
"""Mailchimp merge tags: upper-case letters, digits and `_`, at most 10 characters."""
RESERVED_MERGE_TAGS: tuple[str, ...] = ("FNAME", "LNAME", "ADDRESS", "PHONE", "COMPANY", "JDEAN8", "EMAIL")
"""The merge tags the mapping already fills (and EMAIL, Mailchimp's own)."""

_CATEGORY_CODE = re.compile(r"^AC(0[1-9]|[12][0-9]|30)$")
_OTHER_UDC: dict[str, tuple[str, str]] = {"F03012.CPGP": ("40", "PC")}
_NO_TABLE = Table("", "", "", (), ())


def udc_of(column: str) -> tuple[str, str] | None:
    """The (product code SY, code type RT) of a JDE column's user-defined codes, or None if unknown."""
    table, _, alias = column.partition(".")
    if table in ("F0101", "F03012") and _CATEGORY_CODE.match(alias):
        return "01", alias[2:]
    return _OTHER_UDC.get(column)


SEGMENT_COLUMNS: tuple[str, ...] = tuple(
    f"{name}.{alias}" for name, t in TABLES.items() for alias in t.aliases if udc_of(f"{name}.{alias}")
)
"""The catalogued columns (jde/tables.py) whose user-defined codes are known: what a segment can use."""


@dataclass(frozen=True)
class SegmentField:
    """One JDE code column sent to Mailchimp: to `merge_field` (a merge tag) or as a tag `tag_prefix`+value.

    `value`: `description` sends the UDC description (the code itself when F0005 has no row for it, with
    a `udc_missing` event), `code` sends the code. `type` is the merge field's type (`text` or
    `dropdown`); `name` its label when the connector creates it (default: the merge tag).
    """

    column: str
    merge_field: str = ""
    tag_prefix: str = ""
    value: str = "description"
    type: str = "text"
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "column", self.column.strip().upper())
        object.__setattr__(self, "merge_field", self.merge_field.strip().upper())
        if self.udc is None or self.alias not in TABLES.get(self.table, _NO_TABLE).aliases:
            raise ValueError(
                f"segment field {self.column!r}: not a catalogued JDE code column; known: "
                + ", ".join(SEGMENT_COLUMNS)
            )
        if bool(self.merge_field) == bool(self.tag_prefix):
            raise ValueError(f"segment field {self.column}: give merge_field or tag_prefix (one of them)")
        if self.merge_field and not MERGE_TAG.match(self.merge_field):
            raise ValueError(
                f"segment field {self.column}: merge_field {self.merge_field!r} must be 1-10 characters, "
                "A-Z, 0-9 or _, starting with a letter"
            )
        if self.merge_field in RESERVED_MERGE_TAGS:
            raise ValueError(f"segment field {self.column}: merge_field {self.merge_field} is already mapped")
        if self.tag_prefix and not self.tag_prefix.strip():
            raise ValueError(f"segment field {self.column}: tag_prefix must not be blank")
        if self.value not in SEGMENT_VALUES:
            raise ValueError(f"segment field {self.column}: value must be one of {SEGMENT_VALUES}")
        if self.type not in SEGMENT_TYPES:
            raise ValueError(f"segment field {self.column}: type must be one of {SEGMENT_TYPES}")

    @property
    def table(self) -> str:
        return self.column.partition(".")[0]

    @property
    def alias(self) -> str:
        return self.column.partition(".")[2]

    @property
    def udc(self) -> tuple[str, str] | None:
        return udc_of(self.column)

    @property
    def label(self) -> str:
        """The merge tag, or the tag prefix: what the trail and the events call this field."""
        return self.merge_field or f"tag:{self.tag_prefix}"


def check_segments(segments: tuple[SegmentField, ...], role_tags: tuple[str, ...]) -> None:
    """The list as a whole: merge tags unique, prefixes unique, none a prefix of another or of a role tag
    (a role tag would then look like a segment tag, and one prefix's tags like another's)."""
    tags = [s.merge_field for s in segments if s.merge_field]
    doubles = sorted({t for t in tags if tags.count(t) > 1})
    if doubles:
        raise ValueError(f"segment fields: merge_field {', '.join(doubles)} given more than once")
    prefixes = [s.tag_prefix for s in segments if s.tag_prefix]
    for i, prefix in enumerate(prefixes):
        for other in prefixes[i + 1 :]:
            if prefix.startswith(other) or other.startswith(prefix):
                raise ValueError(f"segment fields: tag prefixes {prefix!r} and {other!r} collide")
        for role_tag in role_tags:
            if role_tag.startswith(prefix):
                raise ValueError(f"segment fields: tag prefix {prefix!r} collides with role tag {role_tag!r}")


def on_demand_columns(segments: tuple[SegmentField, ...]) -> dict[str, tuple[str, ...]]:
    """Table → the on-demand columns (jde/tables.py) the segment fields name: what the reads fetch
    besides the columns every read has (`AisClient.on_demand`)."""
    found: dict[str, tuple[str, ...]] = {}
    for s in segments:
        if s.alias in TABLES[s.table].on_demand and s.alias not in found.get(s.table, ()):
            found[s.table] = (*found.get(s.table, ()), s.alias)
    return found


def udc_columns(segments: tuple[SegmentField, ...]) -> tuple[tuple[str, str, str, str], ...]:
    """(table, alias, SY, RT) of every column whose UDC descriptions are needed, once each."""
    needed = {
        (s.table, s.alias, *s.udc): None for s in segments if s.value == "description" and s.udc is not None
    }
    return tuple(needed)
