"""The emulator's e-mail syntax rule: its fast path for plain addresses never accepts what the full
parser (email-validator) would refuse, and both answer the same on tricky addresses."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from jde_mc_pipeline.emulators.mailchimp.errors import ApiError
from jde_mc_pipeline.emulators.mailchimp.validation import EmailRules, cut_text

TRICKY = [
    "a@b.co", "a..b@x.com", ".a@x.com", "a.@x.com", "a@-x.com", "a@x-.com", "a@x.c0m", "a@x.c", "a+b@x.io",
    "a@xn--bcher-kva.com", "a@x.123", "x@foo.test", "x@foo.local", "A.B@Gmail.COM", "a@b", "x@localhost",
    "p1@jde-test.org", "a" * 65 + "@x.com", "a@" + "b" * 64 + ".com", "a_b%c@x.y.z.museum", "jörg@müller.de",
    '"quoted"@x.com', "a@x..com", "a@x.com.", "a b@x.com", "a@@x.com", "",
]  # fmt: skip


def parser_accepts(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@pytest.mark.parametrize("email", TRICKY)
def test_syntax_rule_agrees_with_email_validator(email):
    rules = EmailRules()
    try:
        rules.check_syntax(email)
        accepted = True
    except ApiError:
        accepted = False
    assert accepted == parser_accepts(email)


def test_fake_domains_match_parent_domains_only():
    rules = EmailRules(["example.com"])
    assert rules.looks_fake("x@example.com") and rules.looks_fake("x@mail.example.com")
    assert not rules.looks_fake("x@notexample.com")


def test_cut_text_never_splits_a_character():
    assert cut_text("a" * 300) == "a" * 255
    assert cut_text("€" * 100) == "€" * 85
    assert cut_text("a" + "€" * 100) == "a" + "€" * 84
