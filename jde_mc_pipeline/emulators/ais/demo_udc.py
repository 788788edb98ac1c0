"""The demo's user-defined codes (F0005): the lists behind the category codes the demo parties carry.

As in a real installation, each list is a product code SY and a code type RT (address-book category
code n is 01/nn; the customer price group is 40/PC), and KY is stored right-justified in its 10
characters (`       WES`), while the category-code column holds the code left-justified. The meanings
of 01/01-01/03 are this demo's choices (every installation picks its own): 01/01 sales region,
01/02 customer class, 01/03 industry. One class used in the data, OEM, has no row on purpose: codes
loaded by a conversion are not validated against their UDC, so a real address book has a few such codes
(the connector sends the code and records `udc_missing`).
"""

from __future__ import annotations

from typing import Any

UDC_LISTS: dict[tuple[str, str], dict[str, str]] = {
    ("01", "01"): {
        "NE": "Northeast",
        "SE": "Southeast",
        "MW": "Midwest",
        "SW": "Southwest",
        "W": "West",
        "NW": "Northwest",
        "INT": "International",
    },
    ("01", "02"): {"DIS": "Distributor", "RET": "Retailer", "MFG": "Manufacturer", "GOV": "Government"},
    ("01", "03"): {
        "AUT": "Automotive",
        "CON": "Construction",
        "ENR": "Energy",
        "FOO": "Food and Beverage",
        "HLT": "Healthcare",
        "TEC": "Technology",
    },
    ("40", "PC"): {
        "PREF": "Preferred Customer",
        "WHSL": "Wholesale",
        "RETL": "Retail",
        "DIST": "Distributor",
    },
}
"""(SY, RT) → code → description (DL01)."""
CATEGORY_TITLES: dict[tuple[str, str], str] = {
    ("01", "01"): "Sales Region",
    ("01", "02"): "Customer Class",
    ("01", "03"): "Industry",
    ("40", "PC"): "Customer Price Group",
}
INDUSTRIES: tuple[str, ...] = ("AUT", "CON", "ENR", "FOO", "HLT", "TEC", "", "")
PRICE_GROUPS: tuple[str, ...] = ("PREF", "WHSL", "RETL", "DIST", "", "", "")


def spread(an8: int, values: tuple[str, ...], salt: int) -> str:
    """A value picked from the AN8 alone (no draw of the seeded generator, so that adding a column does
    not change every other demo value), spread evenly by a multiplicative hash."""
    return values[((an8 + salt) * 2654435761 >> 8) % len(values)]


def udc_rows() -> list[dict[str, Any]]:
    """The F0005 rows of `UDC_LISTS`, in database form, stamped on the day the lists were set up."""
    return [
        {
            "DRSY": sy,
            "DRRT": rt,
            "DRKY": code.rjust(10),
            "DRDL01": text,
            "DRDL02": "",
            "DRSPHD": "",
            "DRHRDC": "N",
            "DRUSER": "JDE",
            "DRPID": "P0004A",
            "DRJOBN": "JDEDEP01",
            "DRUPMJ": 109001,
            "DRUPMT": 80000,
        }
        for (sy, rt), codes in UDC_LISTS.items()
        for code, text in codes.items()
    ]
