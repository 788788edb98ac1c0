"""The party's e-mail (docs/mapping.md): F01151 ETP `E`, IDLN 0, lowest RCK7 whose address is valid.

Syntax is judged by email-validator (check_deliverability=False), which costs ~20 µs per address: too
slow for a million parties. So a vectorised regex first accepts the plain addresses that are certainly
valid (a strict subset of what email-validator accepts; a property test holds it to that), and only the
distinct remaining strings go through email-validator. The result is the library's verdict either way.

A row with a blank EMAL counts as no row: "no e-mail" is what a JDE user means by a blank one.
"""

from __future__ import annotations

from functools import lru_cache

import email_validator
import numpy as np
import pandas as pd

_LOCAL = r"[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?"
PLAIN_EMAIL = rf"{_LOCAL}@(?:{_LABEL}\.)+[a-z]{{2,63}}"
_SPECIAL_SUFFIXES = tuple("." + name for name in sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES))


def plainly_valid(emails: pd.Series) -> pd.Series:
    """True where a lower-cased address is certainly valid; False means "ask email-validator"."""
    if emails.empty:
        return pd.Series([], dtype=bool, index=emails.index)
    return (
        emails.str.fullmatch(PLAIN_EMAIL)
        & (emails.str.find("@") <= 64)
        & (emails.str.len() <= 254)
        & ~emails.str.contains("--", regex=False)
        & ~emails.str.endswith(_SPECIAL_SUFFIXES)
    ).astype(bool)


@lru_cache(maxsize=65536)
def is_valid_email(email: str) -> bool:
    """email-validator's verdict on one address, syntax only."""
    try:
        email_validator.validate_email(email, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def valid_emails(emails: pd.Series) -> pd.Series:
    """Boolean Series: is each (trimmed, lower-cased) address syntactically valid?"""
    valid = plainly_valid(emails)
    doubtful = pd.unique(emails[~valid])
    if len(doubtful):
        verdicts = pd.Series([is_valid_email(email) for email in doubtful], index=doubtful, dtype=bool)
        valid = valid | emails.map(verdicts).eq(True)
    return valid


def _normalised(emails: pd.Series) -> pd.Series:
    """Trimmed and lower-cased; the addresses already so keep their str objects (a million of them)."""
    normalised = emails.str.strip().str.lower()
    same = (normalised == emails).to_numpy()
    values = normalised.to_numpy(dtype=object)
    values[same] = emails.to_numpy(dtype=object)[same]
    return pd.Series(values, index=emails.index, dtype=object)


def choose_emails(f01151: pd.DataFrame) -> pd.DataFrame:
    """Per AN8 with an e-mail row: `email` (valid, lower-cased, "" when none is valid) and `email_source`.

    `email_source` is the EMAL as JDE holds it (the chosen row, or the lowest-RCK7 row when none is
    valid) so that the trail and the quarantine show what was wrong.
    """
    rows = f01151.loc[
        (f01151["IDLN"] == 0) & (f01151["ETP"].str.upper() == "E") & (f01151["EMAL"] != ""),
        ["AN8", "RCK7", "EMAL"],
    ]
    rows = rows.sort_values(["AN8", "RCK7"], kind="stable")
    candidates = _normalised(rows["EMAL"])
    valid = valid_emails(candidates).to_numpy()
    an8 = rows["AN8"].to_numpy(dtype=np.int64)
    first_any = pd.DataFrame({"an8": an8, "email_source": rows["EMAL"].to_numpy()}).drop_duplicates("an8")
    chosen = pd.DataFrame(
        {
            "an8": an8[valid],
            "email": candidates.to_numpy()[valid],
            "chosen_source": rows["EMAL"].to_numpy()[valid],
        }
    ).drop_duplicates("an8")
    result = first_any.merge(chosen, on="an8", how="left")
    has_valid = result["email"].notna()
    result["email_source"] = result["chosen_source"].where(has_valid, result["email_source"])
    result["email"] = result["email"].fillna("")
    return result[["an8", "email", "email_source"]]
