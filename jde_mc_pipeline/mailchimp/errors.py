"""Errors that stop a sync before (or instead of) writing: wrong configuration or an audience the
connector cannot safely write to. Per-record refusals are never raised; they become `WriteResult`s.

No message here ever contains the API key: the constructors take only what is safe to show.
"""

from __future__ import annotations


class MailchimpError(Exception):
    """Base class of the client's own errors."""


class MailchimpConfigError(MailchimpError):
    """The configuration cannot work (no data center in the key, a cap above Mailchimp's limit, …)."""


class MailchimpApiError(MailchimpError):
    """Mailchimp answered a setup call (ping, audience, merge fields, store) with an error.

    Carries Mailchimp's `title`/`detail` and the HTTP status (None when no answer came at all).
    """

    def __init__(self, what: str, status: int | None, title: str | None, detail: str | None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        reason = " - ".join(part for part in (title, detail) if part) or "no answer"
        super().__init__(f"{what}: {reason} (HTTP {status if status is not None else 'n/a'})")


class AudienceNotFoundError(MailchimpApiError):
    """The configured list id does not exist for this account (or data center)."""


class MergeFieldConflictError(MailchimpError):
    """An existing merge field has a type the connector cannot write into (checked before any write)."""

    def __init__(self, conflicts: dict[str, tuple[str, tuple[str, ...]]]) -> None:
        self.conflicts = conflicts
        parts = [
            f"{tag} is of type '{actual}' but the connector needs {' or '.join(repr(t) for t in wanted)}"
            for tag, (actual, wanted) in sorted(conflicts.items())
        ]
        super().__init__(
            "Audience merge fields conflict with the mapping; nothing was written. "
            + "; ".join(parts)
            + ". Change or remove these fields in Mailchimp (Audience > Settings > Audience fields)."
        )


class StoreConflictError(MailchimpError):
    """The configured e-commerce store exists but is bound to another audience (list_id cannot change)."""
