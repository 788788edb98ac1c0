"""A read-only look at the audience and the store: what a sync would need to create or could not use.

Why separate from `prepare_mailchimp`: `jde-mc ping` and `jde-mc dry-run` must not create anything,
and the sync must find every blocking problem before its first write. All three read the same facts
here (GET audience, GET merge fields, GET store) and differ only in what they do next.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from jde_mc_pipeline.mailchimp.audience import check_audience
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError, MergeFieldConflictError, StoreConflictError
from jde_mc_pipeline.mailchimp.merge_fields import (
    DEFAULT_MERGE_FIELDS,
    MergeFieldSpec,
    list_merge_fields,
    segment_specs,
)
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.sync.settings import SyncSettings


@dataclass(frozen=True)
class AudienceInspection:
    """The audience as found, without any write."""

    audience: dict[str, Any]
    merge_fields: dict[str, str]
    """Every merge tag of the audience → its type."""
    conflicts: dict[str, tuple[str, tuple[str, ...]]]
    """Tag → (type found, types the connector needs) for fields it cannot write into."""
    to_create: tuple[str, ...]
    """Fields the connector would create (COMPANY, JDEAN8 when missing)."""
    missing: tuple[str, ...]
    """Default fields a marketer removed: their values would be dropped by Mailchimp."""
    required_unfilled: tuple[str, ...]
    """Required fields the connector does not fill: Mailchimp refuses new contacts without them."""
    store_id: str
    store: dict[str, Any] | None = field(default=None)
    """The store when it exists (None: it would be created)."""
    list_id: str = ""

    @property
    def store_conflict(self) -> str | None:
        """Why the store cannot be used (bound to another audience), or None."""
        if self.store is None or self.store.get("list_id") == self.list_id:
            return None
        return (
            f"E-commerce store {self.store_id!r} is bound to audience {self.store.get('list_id')!r}, not "
            f"{self.list_id!r}; a store's audience cannot change: choose another MAILCHIMP_STORE_ID"
        )

    def raise_for_problems(self) -> None:
        """Raise what would stop a sync: conflicting merge-field types, a store of another audience."""
        if self.conflicts:
            raise MergeFieldConflictError(self.conflicts)
        if self.store_conflict:
            raise StoreConflictError(self.store_conflict)


@dataclass(frozen=True)
class MergeFieldFindings:
    """The audience's merge fields judged against what the mapping sends."""

    types: dict[str, str]
    conflicts: dict[str, tuple[str, tuple[str, ...]]]
    to_create: tuple[str, ...]
    missing: tuple[str, ...]
    required_unfilled: tuple[str, ...]


def merge_field_specs(options: MappingOptions) -> tuple[MergeFieldSpec, ...]:
    """Every merge field the mapping fills: the defaults and the configured segment fields."""
    return DEFAULT_MERGE_FIELDS + segment_specs(options.segment_fields)


def judge_merge_fields(
    fields: list[dict[str, Any]], specs: tuple[MergeFieldSpec, ...] = DEFAULT_MERGE_FIELDS
) -> MergeFieldFindings:
    """Conflicting types, fields a sync would create, removed defaults, required fields it cannot fill;
    `specs`: what the mapping fills (`merge_field_specs`), so the dry run and ping judge the segment
    fields as the sync does."""
    found = {str(f.get("tag", "")).upper(): f for f in fields}
    absent = [spec for spec in specs if spec.tag not in found]
    ours = {spec.tag for spec in specs}
    return MergeFieldFindings(
        types={tag: str(f.get("type")) for tag, f in found.items()},
        conflicts={
            spec.tag: (str(found[spec.tag].get("type")), spec.types)
            for spec in specs
            if spec.tag in found and found[spec.tag].get("type") not in spec.types
        },
        to_create=tuple(spec.tag for spec in absent if spec.create),
        missing=tuple(spec.tag for spec in absent if not spec.create),
        required_unfilled=tuple(sorted(t for t, f in found.items() if f.get("required") and t not in ours)),
    )


def inspect_audience(
    client: MailchimpClient, settings: SyncSettings, *, with_store: bool = True
) -> AudienceInspection:
    """Read the audience, its merge fields and (unless `with_store` is False) the store; write nothing.

    Raises `AudienceNotFoundError` for an unknown list id and `MailchimpApiError` when a read fails.
    """
    # Three reads at once (each waits a round trip; a sync makes them twice): the audience's answer is
    # judged first, so an unknown list is reported as such whatever the others answered.
    with ThreadPoolExecutor(3, thread_name_prefix="inspect") as pool:
        audience_read = pool.submit(check_audience, client, settings.list_id)
        fields_read = pool.submit(list_merge_fields, client, settings.list_id)
        store_read = pool.submit(_read_store, client, settings.store_id) if with_store else None
        audience = audience_read.result()
        judged = judge_merge_fields(fields_read.result(), merge_field_specs(settings.mapping))
        store = store_read.result() if store_read is not None else None
    return AudienceInspection(
        audience=audience,
        merge_fields=judged.types,
        conflicts=judged.conflicts,
        to_create=judged.to_create,
        missing=judged.missing,
        required_unfilled=judged.required_unfilled,
        store_id=settings.store_id,
        store=store,
        list_id=settings.list_id,
    )


def _read_store(client: MailchimpClient, store_id: str) -> dict[str, Any] | None:
    answer = client.call(
        "GET", f"/ecommerce/stores/{quote(store_id, safe='')}", params={"fields": "id,list_id,name"}
    )
    if answer.status == 404:
        return None
    if not answer.ok or not isinstance(answer.body, dict):
        raise MailchimpApiError(
            f"Reading store {store_id!r} failed", answer.status, answer.title, answer.detail
        )
    return answer.body
