"""`/ecommerce/stores[/{store_id}]` (docs/mailchimp.md, E-commerce customers;
https://mailchimp.com/developer/marketing/api/ecommerce-stores/).

POST requires `id`, `list_id`, `name`, `currency_code` (ISO 4217, checked with pycountry); the audience
must exist; `domain` is unique in the account (400 `Bad Request`, recorded detail). PATCH may not move a
store to another audience. DELETE removes the store and its customers (members stay).

[unconfirmed] choices: a duplicate store id → 400 `Bad Request` "A store with the provided ID already
exists in the account." (worded like the recorded duplicate-product error); an unknown `list_id` or
currency → 400 `Invalid Resource` with `errors[]`; a PATCH with another `list_id` → 400 `Bad Request`.
"""

from __future__ import annotations

from typing import Any

import pycountry

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import Store
from jde_mc_pipeline.emulators.mailchimp.views import check_types, links, page, require_fields, store_of

_DETAILS: dict[str, type | tuple[type, ...]] = {
    "platform": str, "domain": str, "is_syncing": bool, "email_address": str, "money_format": str,
    "primary_locale": str, "timezone": str, "phone": str, "address": dict,
}  # fmt: skip
_ADDRESS_KEYS = (
    "address1", "address2", "city", "province", "province_code", "postal_code", "country", "country_code",
)  # fmt: skip


def store_view(call: Call, store: Store) -> dict[str, Any]:
    details = store.details
    address = {key: str(details.get("address", {}).get(key, "")) for key in _ADDRESS_KEYS}
    address.update(
        longitude=details.get("address", {}).get("longitude", 0),
        latitude=details.get("address", {}).get("latitude", 0),
    )
    return {
        "id": store.id,
        "list_id": store.list_id,
        "name": store.name,
        "platform": details.get("platform", ""),
        "domain": details.get("domain", ""),
        "is_syncing": details.get("is_syncing", False),
        "email_address": details.get("email_address", ""),
        "currency_code": store.currency_code,
        "money_format": details.get("money_format", ""),
        "primary_locale": details.get("primary_locale", ""),
        "timezone": details.get("timezone", ""),
        "phone": details.get("phone", ""),
        "address": address,
        "connected_site": {"site_foreign_id": store.id, "site_script": {"url": "", "fragment": ""}},
        "automations": {
            "abandoned_cart": {"is_supported": False},
            "abandoned_browse": {"is_supported": False},
        },
        "list_is_active": True,
        "created_at": store.created_at,
        "updated_at": store.updated_at,
        "_links": links(
            call,
            f"/ecommerce/stores/{store.id}",
            ("self", "GET", ""),
            ("update", "PATCH", ""),
            ("delete", "DELETE", ""),
            ("customers", "GET", "/customers"),
        ),
    }


def list_stores(call: Call) -> Reply:
    count, offset = call.paging()
    stores = call.app.state.stores
    return Reply(
        200,
        {
            "stores": [store_view(call, s) for s in page(stores.values(), count, offset)],
            "total_items": len(stores),
            "_links": links(call, "/ecommerce/stores", ("self", "GET", ""), ("create", "POST", "")),
        },
    )


def get_store(call: Call) -> Reply:
    return Reply(200, store_view(call, store_of(call)))


def add_store(call: Call) -> Reply:
    body = call.json_object()
    require_fields(body, ("id", "list_id", "name", "currency_code"))
    check_types(body, {"id": str, "list_id": str, "name": str, "currency_code": str, **_DETAILS})
    state = call.app.state
    if body["list_id"] not in state.lists:
        raise errors.schema_error(
            [{"field": "list_id", "message": "The list_id does not match an audience."}]
        )
    _check_currency(body["currency_code"])
    if body["id"] in state.stores:
        raise errors.bad_request("A store with the provided ID already exists in the account.")
    _check_domain(call, body.get("domain"), None)
    now = state.now()
    store = Store(
        id=body["id"],
        list_id=body["list_id"],
        name=body["name"],
        currency_code=body["currency_code"].upper(),
        created_at=now,
        updated_at=now,
        details={k: body[k] for k in _DETAILS if body.get(k) is not None},
    )
    state.stores[store.id] = store
    return Reply(200, store_view(call, store))


def update_store(call: Call) -> Reply:
    store = store_of(call)
    body = call.json_object()
    check_types(body, {"list_id": str, "name": str, "currency_code": str, **_DETAILS})
    if body.get("list_id") not in (None, store.list_id):
        raise errors.bad_request("The list_id of a store cannot be changed once it is created.")
    if body.get("currency_code") is not None:
        _check_currency(body["currency_code"])
    _check_domain(call, body.get("domain"), store.id)
    if body.get("name") is not None:
        store.name = body["name"]
    if body.get("currency_code") is not None:
        store.currency_code = body["currency_code"].upper()
    store.details.update({k: body[k] for k in _DETAILS if body.get(k) is not None})
    store.updated_at = call.app.state.now()
    return Reply(200, store_view(call, store))


def delete_store(call: Call) -> Reply:
    store = store_of(call)
    del call.app.state.stores[store.id]
    return Reply(204)


def _check_currency(code: str) -> None:
    if pycountry.currencies.get(alpha_3=code.upper()) is None:
        raise errors.schema_error(
            [{"field": "currency_code", "message": "The currency_code is not valid (ISO 4217)."}]
        )


def _check_domain(call: Call, domain: str | None, own_id: str | None) -> None:
    if not domain:
        return
    for other in call.app.state.stores.values():
        if other.id != own_id and other.details.get("domain") == domain:
            raise errors.bad_request(
                f"We were unable to process the request. A store with the domain {domain} already exists "
                "in the account."
            )
