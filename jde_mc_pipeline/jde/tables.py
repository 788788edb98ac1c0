"""The catalogue of the JD Edwards tables we read: prefixes, columns, types and keys.

Both the AIS emulator and the AIS client use it (the only thing they share), so a column is declared
once. Sources: docs/ais.md, The six tables (JDE 9.2 column lists). Only the columns the mapping, the
incremental extraction and the audit need are listed, plus the audit columns every table carries, and
the thirty category codes AC01-AC30 of F0101 and F03012, which segment fields can map. Most of those are
read only when a segment field names them (`Table.on_demand`): thirty 3-character columns on every row
of every read would cost every deployment time and memory for codes few of them send.

Column kinds, and how each travels:
- `string`: padded CHAR in the database; AIS trims trailing blanks and keeps leading ones.
- `number`: NUMBER; a JSON number in AIS answers.
- `date`:   Julian CYYDDD in the database (0 = blank); a `yyyyMMdd` string in AIS answers.
- `time`:   HHMMSS as a number (leading zeros lost: 09:30:00 is 93000).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

ColumnKind = Literal["string", "number", "date", "time"]


@dataclass(frozen=True)
class Column:
    """One column: its alias (`AN8`), kind, length for strings, and the short title AIS reports."""

    alias: str
    kind: ColumnKind
    title: str
    length: int = 0


@dataclass(frozen=True)
class Table:
    """One JDE table, e.g. F0101 with prefix AB, so that `F0101.AN8` is `ABAN8` in the database."""

    name: str
    prefix: str
    title: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    on_demand: frozenset[str] = frozenset()
    """Columns left out of a read unless asked for (`AisClient.on_demand`): category codes no segment
    field names."""

    def column(self, alias: str) -> Column:
        """The column with this alias; KeyError names the table when there is none."""
        for column in self.columns:
            if column.alias == alias:
                return column
        raise KeyError(f"{self.name} has no column {alias}")

    @property
    def aliases(self) -> tuple[str, ...]:
        """Column aliases in catalogue order."""
        return tuple(column.alias for column in self.columns)

    def read_aliases(self, wanted: Iterable[str] = ()) -> tuple[str, ...]:
        """What a read of every column fetches: the catalogue without its on-demand columns, except the
        `wanted` ones, in catalogue order."""
        keep = set(wanted)
        return tuple(a for a in self.aliases if a not in self.on_demand or a in keep)

    def db_name(self, alias: str) -> str:
        """The database column name: prefix + alias (`ABAN8`)."""
        return self.prefix + alias

    def control_id(self, alias: str) -> str:
        """The name AIS requests use: `F0101.AN8`."""
        return f"{self.name}.{alias}"

    def output_key(self, alias: str) -> str:
        """The name AIS answers use: `F0101_AN8`."""
        return f"{self.name}_{alias}"


def _s(alias: str, title: str, length: int) -> Column:
    return Column(alias, "string", title, length)


def _n(alias: str, title: str) -> Column:
    return Column(alias, "number", title)


def _d(alias: str, title: str) -> Column:
    return Column(alias, "date", title)


def _category_codes() -> tuple[Column, ...]:
    return tuple(_s(f"AC{n:02d}", f"Category Code {n:02d}", 3) for n in range(1, 31))


def _on_demand_codes(*read_always: str) -> frozenset[str]:
    return frozenset(c.alias for c in _category_codes()) - set(read_always)


AUDIT_COLUMNS: tuple[Column, ...] = (
    _s("USER", "User ID", 10),
    _s("PID", "Program ID", 10),
    _s("JOBN", "Work Stn ID", 10),
    _d("UPMJ", "Date Updated"),
    Column("UPMT", "time", "Time Last Updated"),
)

F0101 = Table(
    "F0101",
    "AB",
    "Address Book Master",
    ("AN8",),
    (
        _n("AN8", "Address Number"),
        _s("ALKY", "Long Address Number", 20),
        _s("TAX", "Tax ID", 20),
        _s("ALPH", "Alpha Name", 40),
        _s("DC", "Description Compressed", 40),
        _s("MCU", "Business Unit", 12),
        _s("SIC", "Industry Classification", 10),
        _s("LNGP", "Language", 2),
        _s("AT1", "Sch Typ", 3),
        _s("CM", "Credit Message", 2),
        _s("TAXC", "Person/Corporation Code", 1),
        _n("AN81", "Parent Number"),
        *_category_codes(),
        _s("RMK", "Remark", 30),
        _s("ALP1", "Secondary Alpha Name", 40),
        _d("EFTB", "Effective Date"),
        *AUDIT_COLUMNS,
    ),
    _on_demand_codes("AC01", "AC02", "AC03", "AC04", "AC05"),
)

F03012 = Table(
    "F03012",
    "AI",
    "Customer Master by Line of Business",
    ("AN8", "CO"),
    (
        _n("AN8", "Address Number"),
        _s("CO", "Company", 5),
        _s("ARC", "A/R Class", 2),
        _s("MCUR", "Responsible Business Unit", 12),
        _s("CRCD", "Currency Code", 3),
        _s("TXA1", "Tax Rate/Area", 10),
        _s("TRAR", "Payment Terms", 3),
        _s("HOLD", "Hold Orders Code", 2),
        _s("CUSTS", "Customer Status", 1),
        *_category_codes(),
        _s("CPGP", "Customer Price Group", 8),
        *AUDIT_COLUMNS,
    ),
    _on_demand_codes("AC01"),
)

F0116 = Table(
    "F0116",
    "AL",
    "Address by Date",
    ("AN8", "EFTB"),
    (
        _n("AN8", "Address Number"),
        _d("EFTB", "Beginning Effective Date"),
        _s("EFTF", "Effective Date Existence", 1),
        _s("ADD1", "Address Line 1", 40),
        _s("ADD2", "Address Line 2", 40),
        _s("ADD3", "Address Line 3", 40),
        _s("ADD4", "Address Line 4", 40),
        _s("ADDZ", "Postal Code", 12),
        _s("CTY1", "City", 25),
        _s("COUN", "County", 25),
        _s("ADDS", "State", 3),
        _s("CRTE", "Carrier Route", 4),
        _s("BKML", "Bulk Mailing Center", 2),
        _s("CTR", "Country", 3),
        *AUDIT_COLUMNS,
    ),
)

F01151 = Table(
    "F01151",
    "EA",
    "Electronic Address",
    ("AN8", "IDLN", "RCK7"),
    (
        _n("AN8", "Address Number"),
        _n("IDLN", "Who's Who Line"),
        _n("RCK7", "Line Number ID"),
        _s("ETP", "Electronic Address Type", 4),
        _s("EMAL", "Electronic Address", 256),
        _n("EHIER", "Messaging Indicator"),
        _s("EFOR", "Electronic Address Format", 15),
        _s("ECLASS", "Category Code - Electronic Address", 3),
        *AUDIT_COLUMNS,
    ),
)

F0115 = Table(
    "F0115",
    "WP",
    "Contact Phone Numbers",
    ("AN8", "IDLN", "RCK7"),
    (
        _n("AN8", "Address Number"),
        _n("IDLN", "Who's Who Line"),
        _n("RCK7", "Line Number ID"),
        _n("CNLN", "Contact Line Number"),
        _s("PHTP", "Phone Number Type", 4),
        _s("AR1", "Prefix", 6),
        _s("PH1", "Phone Number", 20),
        *AUDIT_COLUMNS,
    ),
)

F0111 = Table(
    "F0111",
    "WW",
    "Address Book - Who's Who",
    ("AN8", "IDLN"),
    (
        _n("AN8", "Address Number"),
        _n("IDLN", "Who's Who Line"),
        _n("DSS5", "Display Sequence"),
        _s("MLNM", "Mailing Name", 40),
        _s("ATTL", "Contact Title", 40),
        _s("ALPH", "Alpha Name", 40),
        _s("GNNM", "Given Name", 25),
        _s("MDNM", "Middle Name", 25),
        _s("SRNM", "Surname", 25),
        _s("TYC", "Type Code", 1),
        _s("NICK", "Nickname", 15),
        *AUDIT_COLUMNS,
    ),
)

F0005 = Table(
    "F0005",
    "DR",
    "User Defined Codes",
    ("SY", "RT", "KY"),
    (
        _s("SY", "Product Code", 4),
        _s("RT", "User Defined Codes", 2),
        _s("KY", "User Defined Code", 10),
        _s("DL01", "Description", 30),
        _s("DL02", "Description 02", 30),
        _s("SPHD", "Special Handling Code", 10),
        _s("HRDC", "Hard Coded", 1),
        *AUDIT_COLUMNS,
    ),
)
"""User-defined codes: the readable description (DL01) of a code (KY) of the list SY/RT. KY is 10
characters and a short code is stored right-justified (`       WES`): compare it trimmed on both sides."""

TABLES: dict[str, Table] = {t.name: t for t in (F0101, F03012, F0116, F01151, F0115, F0111)}
"""The six tables of the parties, in the order the extraction reads them."""

SERVED: dict[str, Table] = {**TABLES, F0005.name: F0005}
"""Every table the connector reads: the six of the parties and the reference table F0005 (read by
jde/udc.py only when segment fields want descriptions)."""


def table(name: str) -> Table:
    """The table with this name; KeyError lists the known ones when there is none."""
    try:
        return SERVED[name.upper()]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(SERVED)}") from None
