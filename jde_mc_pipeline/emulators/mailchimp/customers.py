"""`/ecommerce/stores/{store_id}/customers[/{customer_id}]` (docs/mailchimp.md, E-commerce customers).

- PUT adds or updates, POST only adds, PATCH only updates (`opt_in_status`, `company`, `first_name`,
  `last_name`, `address`); DELETE → 204. PUT and POST need `id`, `email_address`, `opt_in_status`
  (the 3.0.76 schema; SMS-only customers are not emulated); `id` is 1-50 characters.
- One customer per e-mail in a store (case-insensitive): another id with the same e-mail → 400
  "This customer email already exists" (mc-magento#58). The e-mail of an existing customer never
  changes: "An email address may not be changed once a customer is created." (mc-magento#17).
  Both use title `Bad Request` [unconfirmed], as the other e-commerce refusals on record do.
- A bad or fake-looking e-mail → 400 `Customer Was Not Saved` "<email> is an invalid email address and
  cannot be imported." (since 2021-07).
- Writing a customer upserts the store audience's member: a new contact gets `subscribed` when
  `opt_in_status` is true and `transactional` otherwise; an existing contact is only upgraded from
  `transactional` to `subscribed` when the customer opts in; any other status is kept. An archived
  contact comes back as if new (`subscribed` only when not in compliance state). [unconfirmed] A
  permanently deleted address keeps no member (the customer is still saved); merge fields are not
  filled from the customer.

[unconfirmed] choices: a body `id` different from the path's → 400 `Invalid Resource`; a re-used id
after DELETE is accepted; `total_spent` is `0`; a duplicate id on POST → 400 `Bad Request`
"A customer with the provided ID already exists in the account.".
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.member_rules import create_member, set_status
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import Customer, Store, subscriber_hash
from jde_mc_pipeline.emulators.mailchimp.views import check_types, links, page, require_fields, store_of

ID_LIMIT = 50
EMAIL_EXISTS = "This customer email already exists"
EMAIL_FROZEN = "An email address may not be changed once a customer is created."
_ADDRESS_KEYS = (
    "address1", "address2", "city", "province", "province_code", "postal_code", "country", "country_code",
)  # fmt: skip
_TYPES: dict[str, type | tuple[type, ...]] = {
    "id": str, "email_address": str, "opt_in_status": bool, "company": str, "first_name": str,
    "last_name": str, "address": dict,
}  # fmt: skip


def customer_view(call: Call, store: Store, customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "email_address": customer.email_address,
        "opt_in_status": customer.opt_in_status,
        "company": customer.company,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "orders_count": 0,
        "total_spent": 0,
        "address": {key: customer.address.get(key, "") for key in _ADDRESS_KEYS},
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "_links": links(
            call,
            f"/ecommerce/stores/{store.id}/customers/{customer.id}",
            ("self", "GET", ""),
            ("update", "PATCH", ""),
            ("upsert", "PUT", ""),
            ("delete", "DELETE", ""),
        ),
    }


def list_customers(call: Call) -> Reply:
    store = store_of(call)
    count, offset = call.paging()
    wanted_email = call.query_value("email_address")
    if wanted_email is not None:
        found = store.email_index.get(wanted_email.strip().lower())
        selected = [store.customers[found]] if found else []
    else:
        selected = store.customers.values()
    return Reply(
        200,
        {
            "store_id": store.id,
            "customers": [customer_view(call, store, c) for c in page(selected, count, offset)],
            "total_items": len(selected),
            "_links": links(
                call, f"/ecommerce/stores/{store.id}/customers", ("self", "GET", ""), ("create", "POST", "")
            ),
        },
    )


def get_customer(call: Call) -> Reply:
    store = store_of(call)
    return Reply(200, customer_view(call, store, _customer_of(call, store)))


def put_customer(call: Call) -> Reply:
    store = store_of(call)
    customer_id = call.params["customer_id"]
    body = _checked_body(call, customer_id)
    existing = store.customers.get(customer_id)
    return Reply(200, customer_view(call, store, _write(call, store, customer_id, body, existing)))


def add_customer(call: Call) -> Reply:
    store = store_of(call)
    body = _checked_body(call, None)
    if body["id"] in store.customers:
        raise errors.bad_request("A customer with the provided ID already exists in the account.")
    return Reply(200, customer_view(call, store, _write(call, store, body["id"], body, None)))


def patch_customer(call: Call) -> Reply:
    store = store_of(call)
    customer = _customer_of(call, store)
    body = call.json_object()
    check_types(body, _TYPES)
    email = body.get("email_address")
    if email is not None and email.strip().lower() != customer.email_address.lower():
        raise errors.bad_request(EMAIL_FROZEN)
    return Reply(200, customer_view(call, store, _write(call, store, customer.id, body, customer)))


def delete_customer(call: Call) -> Reply:
    store = store_of(call)
    customer = _customer_of(call, store)
    del store.customers[customer.id]
    store.email_index.pop(customer.email_address.lower(), None)
    return Reply(204)


def _customer_of(call: Call, store: Store) -> Customer:
    customer = store.customers.get(call.params["customer_id"])
    if customer is None:
        raise errors.not_found()
    return customer


def _checked_body(call: Call, path_id: str | None) -> dict[str, Any]:
    body = call.json_object()
    require_fields(body, ("id", "email_address", "opt_in_status"))
    check_types(body, _TYPES)
    if not 1 <= len(body["id"]) <= ID_LIMIT:
        raise errors.schema_error(
            [{"field": "id", "message": f"String must be 1 to {ID_LIMIT} characters long"}]
        )
    if path_id is not None and body["id"] != path_id:
        raise errors.schema_error(
            [{"field": "id", "message": "The id in the body must match the id in the URL."}]
        )
    rules = call.app.email_rules
    email = body["email_address"]
    try:
        address = rules.check_syntax(email)
    except errors.ApiError:
        raise errors.customer_not_saved(str(email)) from None
    if rules.looks_fake(address):
        raise errors.customer_not_saved(address)
    body["email_address"] = address
    return body


def _write(
    call: Call, store: Store, customer_id: str, body: dict[str, Any], existing: Customer | None
) -> Customer:
    """Create or update after every check, then bring the audience member in line."""
    now = call.app.state.now()
    email = body.get("email_address")
    if existing is not None:
        if email is not None and email.lower() != existing.email_address.lower():
            raise errors.bad_request(EMAIL_FROZEN)
        was_opted_in = existing.opt_in_status
        customer = existing
    else:
        holder = store.email_index.get(email.lower())
        if holder is not None and holder != customer_id:
            raise errors.bad_request(EMAIL_EXISTS)
        was_opted_in = False
        customer = Customer(
            id=customer_id, email_address=email, opt_in_status=False, created_at=now, updated_at=now
        )
        store.customers[customer_id] = customer
        store.email_index[email.lower()] = customer_id
    for name in ("opt_in_status", "company", "first_name", "last_name"):
        if body.get(name) is not None:
            setattr(customer, name, body[name])
    if body.get("address") is not None:
        customer.address = {
            k: str(v) for k, v in body["address"].items() if k in _ADDRESS_KEYS and v is not None
        }
    customer.updated_at = now
    _sync_member(call, store, customer, was_opted_in)
    return customer


def _sync_member(call: Call, store: Store, customer: Customer, was_opted_in: bool) -> None:
    audience = call.app.state.lists.get(store.list_id)
    if audience is None:
        return
    member_hash = subscriber_hash(customer.email_address)
    if member_hash in audience.tombstones:
        return
    member = audience.members.get(member_hash)
    now = call.app.state.now()
    opted_in = customer.opt_in_status
    if member is None:
        status = "subscribed" if opted_in else "transactional"
        create_member(
            call.app, audience, customer.email_address, status, {}, skip_merge=True, member_hash=member_hash
        )
    elif member.status == "archived":
        set_status(
            audience, member, "subscribed" if opted_in and not member.compliance else "transactional", now
        )
    elif opted_in and not was_opted_in and member.status == "transactional":
        set_status(audience, member, "subscribed", now)
