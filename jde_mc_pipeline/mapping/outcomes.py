"""Outcome names (one per party × target) and the reasons recorded with them (docs/mapping.md).

The mapping decides the outcomes that need no API call (`OUTCOMES_DECIDED_HERE`); the sync adds the
API outcomes for the rows it sends. `skipped:out_of_scope` and `quarantined:invalid_row` are ours:
mapping.md says a party without a routed role is "never sent", and the reconciliation needs every
pulled party to end in exactly one outcome per target, so it gets a named one; a party with a JDE row
that breaks its pandera contract is held back whole rather than sent half-mapped (docs/mapping.md).
`rejected:<title>` is decided here too when the payload is the very one Mailchimp refused for good
before (mapping/changes.py `last_rejected`): it is not retried, so it is not re-sent either.

Events (`EVENT_*`) are facts recorded in the audit next to a payload that is sent anyway (an omitted
address, an e-mail shared by several AN8s, a rename that could not happen, …).

Every outcome name is spelled here and nowhere else: the mapping, the Mailchimp client's `WriteResult`,
the sync, the dry runs and the UI's metadata import them.
"""

from __future__ import annotations

QUARANTINED = "quarantined"
QUARANTINED_NO_EMAIL = f"{QUARANTINED}:no_email"
QUARANTINED_INVALID_EMAIL = f"{QUARANTINED}:invalid_email"
QUARANTINED_INVALID_ROW = f"{QUARANTINED}:invalid_row"
UNCHANGED = "unchanged"
MERGED = "merged"
SKIPPED = "skipped"
SKIPPED_OUT_OF_SCOPE = f"{SKIPPED}:out_of_scope"

CREATED = "created"
UPDATED = "updated"
RENAMED = "renamed"
REJECTED = "rejected"
"""A write Mailchimp refused for good (`WriteResult.outcome`); recorded as `rejected:<Mailchimp title>`."""
REJECTED_PREFIX = f"{REJECTED}:"
FAILED = "failed"
"""Transient trouble that outlived the retries: the record is kept for the replay."""
LEFT_SCOPE = "left_scope"
LEFT_SCOPE_PREFIX = f"{LEFT_SCOPE}:"
SUCCESSFUL: tuple[str, ...] = (CREATED, UPDATED, RENAMED)
"""The outcomes of a write Mailchimp applied: the synced state advances with them."""
SUPERSEDED = "superseded"
"""A replay's answer for a failure that a later run already decided (sync/replay.py); not recorded."""

OUTCOME_FAMILIES: tuple[str, ...] = (
    CREATED,
    UPDATED,
    RENAMED,
    UNCHANGED,
    MERGED,
    QUARANTINED,
    SKIPPED,
    LEFT_SCOPE,
    REJECTED,
    FAILED,
)
"""Every outcome without its `:<detail>`, in the order of docs/mapping.md (the UI's counts, the dry run's
lines)."""

OUTCOMES_DECIDED_HERE: tuple[str, ...] = (
    QUARANTINED_NO_EMAIL,
    QUARANTINED_INVALID_EMAIL,
    QUARANTINED_INVALID_ROW,
    UNCHANGED,
    MERGED,
    SKIPPED_OUT_OF_SCOPE,
    REJECTED_PREFIX + "<Mailchimp title>",
    LEFT_SCOPE_PREFIX + "<reason>",
)
"""Outcomes the mapping decides before any API call."""

# Reasons that go with an outcome decided here.
REASON_NO_ROLE = "no_role"
"""skipped:out_of_scope: the party is neither customer nor vendor (employee E, company O, …)."""
REASON_ROLE_NOT_ROUTED = "role_not_routed"
"""skipped:out_of_scope: the party's roles are all routed to other targets."""
REASON_NO_ADDRESS_BOOK_ROW = "no_address_book_row"
"""skipped:out_of_scope: rows were pulled for an AN8 that has no F0101 row."""
REASON_HOLDER_PREFIX = "holder:"
"""merged: followed by the AN8 that holds the member / customer record."""
REASON_REFUSED_BEFORE = "refused before in run {run_id}; not re-sent until its JDE data changes"
"""rejected:<title> decided here: the payload is the one Mailchimp refused for good in that run."""
REASON_LEFT_BEFORE = "left scope in run {run_id} ({reason}, {action}); nothing sent while it stays out"
"""unchanged: a party pulled again while out of scope, whose departure was already applied."""
REASON_WAITING_FOR_MEMBER = "waiting for the member write, which failed in this run"
"""failed: a customer not written because its party's member write failed (docs/mapping.md)."""

# Why a party leaves scope (the part after `left_scope:`).
LEFT_NO_ROLE = "no_role"
"""It holds no role routed to the target any more (search type changed, customer master gone)."""
LEFT_DELETED_IN_JDE = "deleted_in_jde"
"""Its address-book row is gone (found by the scope reconciliation, or pulled without an F0101 row)."""

# Events recorded next to a payload (or an outcome).
EVENT_ADDRESS_INCOMPLETE = "address_incomplete"
EVENT_EMAIL_COLLISION = "email_collision"
EVENT_COUNTRY_UNKNOWN = "country_unknown"
EVENT_EMAIL_TAKEN = "email_taken"
EVENT_OLD_MEMBER_LEFT = "old_member_left"
EVENT_OLD_EMAIL_SHARED = "old_email_shared"
EVENT_ROLE_LOST = "role_lost"
EVENT_CUSTOMER_MOVED = "customer_moved"
EVENT_UDC_MISSING = "udc_missing"
"""A segment field's code has no F0005 row: its code was sent instead of a description."""

EVENTS: tuple[str, ...] = (
    EVENT_ADDRESS_INCOMPLETE,
    EVENT_EMAIL_COLLISION,
    EVENT_COUNTRY_UNKNOWN,
    EVENT_EMAIL_TAKEN,
    EVENT_OLD_MEMBER_LEFT,
    EVENT_OLD_EMAIL_SHARED,
    EVENT_ROLE_LOST,
    EVENT_CUSTOMER_MOVED,
    EVENT_UDC_MISSING,
)


def family(outcome: str) -> str:
    """The outcome without its `:<detail>` (`rejected:Invalid Resource` → `rejected`)."""
    return outcome.partition(":")[0]


def in_family_order(outcome: str) -> tuple[int, str]:
    """A sort key: by family as `OUTCOME_FAMILIES` lists them (unknown names last), then by name."""
    name = family(outcome)
    return (OUTCOME_FAMILIES.index(name) if name in OUTCOME_FAMILIES else len(OUTCOME_FAMILIES), outcome)
