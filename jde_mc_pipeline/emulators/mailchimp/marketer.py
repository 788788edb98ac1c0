"""What a marketer (or the contact themselves) does in the Mailchimp UI, for the control endpoints.

The connector never does these things; the drift report must notice them. Each action runs under the
state lock and raises `ApiError` (404 for an unknown list, member, store or customer; 400 for a bad
body), which the control endpoints render as problem documents.

`last_changed` ("the date and time the member's information was last changed", the member schema) is
what `GET /lists/{id}/members?since_last_changed=` filters on, so which action moves it decides what a
daily drift read sees:
- unsubscribe, clean, archive: a status change moves it (as the API's own status changes do);
- editing merge fields moves it, even to the same value (the API's PATCH does too);
- adding or removing tags moves it when the member's tags actually changed. [unconfirmed] Mailchimp
  documents nothing either way; tags are part of the contact's information in the UI, so they count
  (the API's `/tags` endpoint does the same, member_tags.py);
- a permanent delete leaves nothing to change: the member is gone from every read (404) and its hash
  is kept as a tombstone, so a later POST/PUT/batch subscribe of the address is refused with
  `Forgotten Email Not Subscribed` (members.py, member_rules.py, batch_subscribe.py); an e-commerce
  customer with that e-mail stays (customers.py);
- deleting an e-commerce customer leaves its contact alone (as the API's DELETE does).
Archiving from the UI works on any status (the API refuses pending and cleaned contacts with 405);
archiving an archived contact changes nothing.
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.context import AppContext
from jde_mc_pipeline.emulators.mailchimp.members import member_view
from jde_mc_pipeline.emulators.mailchimp.merge_fields import apply_merge_values
from jde_mc_pipeline.emulators.mailchimp.routing import Call
from jde_mc_pipeline.emulators.mailchimp.state import Audience, Member

SELF_UNSUBSCRIBE = "N/A (Unsubscribed by user)"


def member_document(app: AppContext, audience: Audience, member_hash: str, member: Member) -> dict[str, Any]:
    """The member as `GET /lists/{id}/members/{hash}` shows it."""
    return member_view(Call("GET", {}, {}, b"", app), audience, member_hash, member)


def find_member(app: AppContext, list_id: str, member_hash: str) -> tuple[Audience, Member]:
    audience = app.state.lists.get(list_id)
    member = audience.members.get(member_hash) if audience is not None else None
    if audience is None or member is None:
        raise errors.ApiError(404, "Resource Not Found", f"No member {member_hash} in list {list_id}.")
    return audience, member


def unsubscribe(app: AppContext, audience: Audience, member: Member, *, bounced: bool = False) -> None:
    """The person unsubscribes themselves, or the address bounces (`cleaned`): compliance state."""
    audience.set_status(member, "cleaned" if bounced else "unsubscribed")
    member.unsubscribe_reason = "" if bounced else SELF_UNSUBSCRIBE
    member.compliance = True
    member.last_changed = app.state.now()


def edit_merge_fields(app: AppContext, audience: Audience, member: Member, body: Any) -> None:
    """`{"merge_fields": {TAG: value}}`: values checked as the API checks them; `""` clears a field.

    Stricter than a lenient API read: a tag the audience has no field for is refused (the UI cannot
    show one), as is any other key, so that a test's typo shows.
    """
    values = body.get("merge_fields") if isinstance(body, dict) else None
    if not isinstance(values, dict) or set(body) != {"merge_fields"}:
        raise errors.schema_error([{"field": "", "message": 'The body must be {"merge_fields": {...}}'}])
    unknown = sorted(tag for tag in values if tag not in audience.merge_fields)
    if unknown:
        message = f"The audience has no merge field {', '.join(unknown)}"
        raise errors.schema_error([{"field": "merge_fields", "message": message}])
    member.merge = apply_merge_values(audience, member.merge, values, skip_validation=False)
    member.last_changed = app.state.now()


def change_tags(app: AppContext, audience: Audience, member: Member, body: Any) -> None:
    """`{"tags": [{"name", "status": "active"|"inactive"}]}`: the API's tags body and meaning."""
    entries = body.get("tags") if isinstance(body, dict) else None
    valid = isinstance(entries, list) and all(
        isinstance(e, dict)
        and isinstance(e.get("name"), str)
        and e["name"].strip()
        and e.get("status") in ("active", "inactive")
        for e in entries
    )
    if not valid:
        message = 'The body must be {"tags": [{"name": ..., "status": "active"|"inactive"}]}'
        raise errors.schema_error([{"field": "tags", "message": message}])
    now = app.state.now()
    changed = False
    for entry in entries:
        name = entry["name"].strip()
        if entry["status"] == "active" and name not in member.tags:
            audience.tag_id(name)
            member.tags[name] = now
            changed = True
        elif entry["status"] == "inactive" and member.tags.pop(name, None) is not None:
            changed = True
    if changed:
        member.last_changed = now


def archive(app: AppContext, audience: Audience, member: Member) -> None:
    if member.status != "archived":
        audience.set_status(member, "archived")
        member.last_changed = app.state.now()


def delete_permanently(audience: Audience, member_hash: str) -> None:
    audience.remove_member(member_hash)
    audience.tombstones.add(member_hash)


def delete_customer(app: AppContext, store_id: str, customer_id: str) -> None:
    store = app.state.stores.get(store_id)
    customer = store.customers.get(customer_id) if store is not None else None
    if store is None or customer is None:
        raise errors.ApiError(404, "Resource Not Found", f"No customer {customer_id} in store {store_id}.")
    del store.customers[customer_id]
    store.email_index.pop(customer.email_address.lower(), None)
