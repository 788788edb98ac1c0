"""E-mail rules and small value rules shared by members, batch subscribe and e-commerce.

- Syntax: `email-validator` (RFC 5321/5322, no DNS lookups). A failure is 400 `Invalid Resource`
  "Please provide a valid email address." (docs/mailchimp.md, Keys, data centers, errors).
- Fake-looking addresses: Mailchimp refuses addresses its deliverability heuristics dislike
  ("foo@example.com looks fake or invalid, ..."); its rules are not public. The emulator's rule is a
  configurable set of domains (`fake_email_domains`), matched on the domain and every parent domain,
  by default the reserved example domains of RFC 2606 (docs/mailchimp.md, Members).
- Text: cut to 255 bytes of UTF-8 without splitting a character (docs/mailchimp.md, Merge fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from jde_mc_pipeline.emulators.mailchimp import errors

DEFAULT_FAKE_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
TEXT_LIMIT_BYTES = 255
_DOMAIN_CACHE_SIZE = 4096


# The plain addresses that make up nearly all traffic, accepted without the full parser: a strict
# subset of what email-validator accepts (no quoting, no IDNA, no special-use top-level domains).
_PLAIN_EMAIL = re.compile(
    r"^(?=.{1,64}@)[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,63})$"
)


def _syntax_ok(email: str) -> bool:
    plain = _PLAIN_EMAIL.match(email)
    if (
        plain
        and len(email) <= 254
        and "--" not in email.partition("@")[2]
        and plain.group(1).lower() not in SPECIAL_USE_DOMAIN_NAMES
    ):
        return True
    return _parsed_ok(email)


@lru_cache(maxsize=65_536)
def _parsed_ok(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


class EmailRules:
    """Syntax and fake-domain checks, raising the errors a direct member call would get."""

    def __init__(self, fake_domains: Iterable[str] = DEFAULT_FAKE_EMAIL_DOMAINS) -> None:
        self.fake_domains = frozenset(d.lower().strip(".") for d in fake_domains)
        self._fake_by_domain: dict[str, bool] = {}  # a bulk load repeats a handful of domains

    def check_syntax(self, email: object) -> str:
        """The address trimmed, or 400 `Please provide a valid email address.`"""
        if not isinstance(email, str) or not _syntax_ok(email.strip()):
            raise errors.invalid_email()
        return email.strip()

    def looks_fake(self, email: str) -> bool:
        domain = email.rpartition("@")[2]
        fake = self._fake_by_domain.get(domain)
        if fake is None:
            labels = domain.lower().split(".")
            fake = any(".".join(labels[i:]) in self.fake_domains for i in range(len(labels)))
            if len(self._fake_by_domain) >= _DOMAIN_CACHE_SIZE:
                self._fake_by_domain.clear()
            self._fake_by_domain[domain] = fake
        return fake

    def check(self, email: object) -> str:
        """Syntax, then the fake rule; returns the trimmed address."""
        address = self.check_syntax(email)
        if self.looks_fake(address):
            raise errors.fake_email(address)
        return address


def cut_text(value: str, limit: int = TEXT_LIMIT_BYTES) -> str:
    """At most `limit` bytes of UTF-8, never half a character."""
    if len(value) * 4 <= limit:  # a character is at most 4 bytes of UTF-8
        return value
    encoded = value.encode("utf-8")
    if len(encoded) <= limit:
        return value
    return encoded[:limit].decode("utf-8", errors="ignore")
