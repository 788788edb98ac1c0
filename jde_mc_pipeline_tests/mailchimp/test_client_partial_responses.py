"""Every `fields` name the client sends names something, over real HTTP.

Mailchimp ignores a `fields` / `exclude_fields` name that matches nothing (docs/mailchimp.md): a
misspelt name only shows as missing data. The emulator ignores it too and lists it in its stats
(`unknown_fields`), so a whole run of the client's reads and writes must leave that list empty.
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.mailchimp.audience import check_audience
from jde_mc_pipeline.mailchimp.ecommerce import ensure_store, upsert_customers
from jde_mc_pipeline.mailchimp.members import subscriber_hash, upsert_members
from jde_mc_pipeline.mailchimp.merge_fields import ensure_merge_fields
from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite
from jde_mc_pipeline.sync.member_reads import read_members
from jde_mc_pipeline_tests.mailchimp.client_support import LIST_ID, STORE_ID, api, client_for, start, stats
from jde_mc_pipeline_tests.mailchimp.test_client_resilience import QUICK_POLL, members

FIELDS_SENT_BY_THE_CLIENT = (
    "GET /lists/{list_id}",
    "POST /lists/{list_id}",
    "GET /lists/{list_id}/members",
    "GET /lists/{list_id}/members/{subscriber_hash}",
    "GET /ecommerce/stores/{store_id}/customers",
    "GET /ecommerce/stores/{store_id}/customers/{customer_id}",
)


def buyer(n: int, email: str | None = None, **extra: Any) -> CustomerWrite:
    return CustomerWrite(str(n), f"id{n}", email or f"b{n}@jde-test.org", False, company="Co", **extra)


def test_the_client_never_sends_a_field_name_that_matches_nothing(mailchimp_emulator_factory: Any) -> None:
    server = start(mailchimp_emulator_factory)
    client = client_for(server)
    check_audience(client, LIST_ID)
    ensure_merge_fields(client, LIST_ID)
    created = upsert_members(client, LIST_ID, members(30))
    renamed = MemberWrite("0", "renamed0@jde-test.org", "subscribed", {}, previous_email="m0@jde-test.org")
    updated = upsert_members(client, LIST_ID, [*members(30)[1:], renamed])  # updated_members, a rename
    assert {r.outcome for r in created} == {"created"}
    assert {r.outcome for r in updated} == {"updated", "renamed"}
    hashes = [subscriber_hash(f"m{i}@jde-test.org") for i in range(1, 4)]
    assert all(read_members(client, LIST_ID, hashes).values())  # one by one
    assert all(read_members(client, LIST_ID, hashes, direct_limit=0).values())  # in pages
    ensure_store(client, STORE_ID, LIST_ID, "JDE E1")
    direct = upsert_customers(client, STORE_ID, [buyer(n) for n in range(5)])
    assert {r.outcome for r in direct} == {"created"}
    legacy = {"id": "an8-9", "email_address": "b9@jde-test.org", "opt_in_status": False}
    assert api(server, "PUT", f"/ecommerce/stores/{STORE_ID}/customers/an8-9", legacy).status_code == 200
    moved = buyer(9, retires=("an8-9",))  # the legacy id holds the e-mail: read, deleted, rewritten
    assert [r.outcome for r in upsert_customers(client, STORE_ID, [moved])] == ["updated"]
    batched = upsert_customers(
        client, STORE_ID, [buyer(n) for n in range(40)], batch_threshold=10, poll=QUICK_POLL
    )
    assert {r.outcome for r in batched} == {"created", "updated"}
    seen = stats(server)
    assert set(FIELDS_SENT_BY_THE_CLIENT) <= set(seen["requests"]), seen["requests"]
    assert seen["unknown_fields"] == {}
    typo = client.call("GET", f"/lists/{LIST_ID}", params={"fields": "id,stats.member_cuont"})
    assert typo.ok and typo.body == {"id": LIST_ID, "stats": {}}  # Mailchimp's way: no error, data missing
    assert stats(server)["unknown_fields"] == {"GET /lists/{list_id}": ["stats.member_cuont"]}  # seen here
