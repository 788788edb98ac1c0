"""What a marketer does by hand in the Mailchimp UI now and then, for `--marketer K/S` and the demo.

Each round takes K actions on the server's audience, each one of: a contact unsubscribes; the marketer
corrects COMPANY (a field the connector owns); removes a tag it did not add itself (so one the connector
owns); archives a contact; or adds one of its own tags (`MARKETER_TAGS`, which the connector must leave
alone). They run the same code as the control endpoints (marketer.py), so they move `last_changed` the
same way and the drift report meets them as it would meet a person's clicks.

Deterministic for a seed: the random generator is seeded, and contacts are drawn from the audience in
subscriber-hash order, not in the order the (concurrent) sync happened to create them. An action with
no candidate (no subscribed contact left, no COMPANY field, no tag to remove) is skipped, and counted.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from jde_mc_pipeline.emulators.mailchimp import marketer
from jde_mc_pipeline.emulators.mailchimp.context import AppContext
from jde_mc_pipeline.emulators.mailchimp.state import Audience, Member

MARKETER_TAGS = ("Newsletter VIP", "Trade show 2026", "Webinar attendee")
OWNED_FIELD = "COMPANY"


@dataclass(frozen=True)
class MarketerAction:
    """One action taken: what, on whom, and the detail (the field's new value, the tag)."""

    kind: str
    email_address: str
    detail: str = ""


def _unsubscribe(app: AppContext, audience: Audience, member: Member, rng: random.Random) -> str:
    marketer.unsubscribe(app, audience, member)
    return ""


def _edit_company(app: AppContext, audience: Audience, member: Member, rng: random.Random) -> str:
    old = str(member.merge.get(OWNED_FIELD, ""))
    new = old.upper() if old != old.upper() else f"{old} Inc.".strip()
    marketer.edit_merge_fields(app, audience, member, {"merge_fields": {OWNED_FIELD: new}})
    return f"{OWNED_FIELD}: {old!r} -> {new!r}"


def _remove_tag(app: AppContext, audience: Audience, member: Member, rng: random.Random) -> str:
    name = rng.choice(sorted(t for t in member.tags if t not in MARKETER_TAGS))
    marketer.change_tags(app, audience, member, {"tags": [{"name": name, "status": "inactive"}]})
    return name


def _archive(app: AppContext, audience: Audience, member: Member, rng: random.Random) -> str:
    marketer.archive(app, audience, member)
    return ""


def _add_own_tag(app: AppContext, audience: Audience, member: Member, rng: random.Random) -> str:
    name = rng.choice([t for t in MARKETER_TAGS if t not in member.tags])
    marketer.change_tags(app, audience, member, {"tags": [{"name": name, "status": "active"}]})
    return name


def _present(audience: Audience, member: Member) -> bool:
    return member.status != "archived"


def _has_company(audience: Audience, member: Member) -> bool:
    return _present(audience, member) and OWNED_FIELD in audience.merge_fields


def _has_other_tag(audience: Audience, member: Member) -> bool:
    return _present(audience, member) and any(t not in MARKETER_TAGS for t in member.tags)


def _lacks_own_tag(audience: Audience, member: Member) -> bool:
    return _present(audience, member) and any(t not in member.tags for t in MARKETER_TAGS)


def _subscribed(audience: Audience, member: Member) -> bool:
    return member.status == "subscribed"


Act = Callable[[AppContext, Audience, Member, random.Random], str]
Eligible = Callable[[Audience, Member], bool]
ACTIONS: dict[str, tuple[Eligible, Act]] = {
    "unsubscribe": (_subscribed, _unsubscribe),
    "edit_company": (_has_company, _edit_company),
    "remove_tag": (_has_other_tag, _remove_tag),
    "archive": (_present, _archive),
    "add_own_tag": (_lacks_own_tag, _add_own_tag),
}


def marketer_round(
    app: AppContext, list_id: str, rng: random.Random, count: int
) -> list[MarketerAction | None]:
    """Take `count` actions on the audience `list_id` (the caller holds the state lock); None = skipped."""
    audience = app.state.lists[list_id]
    hashes = sorted(audience.members)
    taken: list[MarketerAction | None] = []
    for _ in range(count):
        kind = rng.choice(sorted(ACTIONS))
        eligible, act = ACTIONS[kind]
        candidates = [h for h in hashes if h in audience.members and eligible(audience, audience.members[h])]
        if not candidates:
            taken.append(None)
            continue
        member = audience.members[rng.choice(candidates)]
        taken.append(MarketerAction(kind, member.email_address, act(app, audience, member, rng)))
    return taken
