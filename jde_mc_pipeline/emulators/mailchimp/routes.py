"""The route table: every emulated endpoint of the Marketing API, as the spec names its paths."""

from __future__ import annotations

from jde_mc_pipeline.emulators.mailchimp import (
    batch_routes,
    batch_subscribe,
    customers,
    lists,
    member_tags,
    members,
    merge_fields,
    stores,
)
from jde_mc_pipeline.emulators.mailchimp.routing import Router

MEMBER = "/lists/{list_id}/members/{subscriber_hash}"
STORE = "/ecommerce/stores/{store_id}"


def build_router() -> Router:
    router = Router()
    routes = [
        ("GET", "/ping", lists.ping),
        ("GET", "/lists", lists.get_lists),
        ("GET", "/lists/{list_id}", lists.get_list),
        ("POST", "/lists/{list_id}", batch_subscribe.batch_subscribe),
        ("GET", "/lists/{list_id}/merge-fields", merge_fields.list_merge_fields),
        ("POST", "/lists/{list_id}/merge-fields", merge_fields.add_merge_field),
        ("GET", "/lists/{list_id}/merge-fields/{merge_id}", merge_fields.get_merge_field),
        ("PATCH", "/lists/{list_id}/merge-fields/{merge_id}", merge_fields.update_merge_field),
        ("DELETE", "/lists/{list_id}/merge-fields/{merge_id}", merge_fields.delete_merge_field),
        ("GET", "/lists/{list_id}/members", members.list_members),
        ("POST", "/lists/{list_id}/members", members.add_member),
        ("GET", MEMBER, members.get_member),
        ("PUT", MEMBER, members.upsert_member),
        ("PATCH", MEMBER, members.patch_member),
        ("DELETE", MEMBER, members.archive_member),
        ("POST", f"{MEMBER}/actions/delete-permanent", members.delete_member_permanently),
        ("GET", f"{MEMBER}/tags", member_tags.list_tags),
        ("POST", f"{MEMBER}/tags", member_tags.update_tags),
        ("GET", "/batches", batch_routes.list_batches),
        ("POST", "/batches", batch_routes.start_batch),
        ("GET", "/batches/{batch_id}", batch_routes.get_batch),
        ("DELETE", "/batches/{batch_id}", batch_routes.delete_batch),
        ("GET", "/ecommerce/stores", stores.list_stores),
        ("POST", "/ecommerce/stores", stores.add_store),
        ("GET", STORE, stores.get_store),
        ("PATCH", STORE, stores.update_store),
        ("DELETE", STORE, stores.delete_store),
        ("GET", f"{STORE}/customers", customers.list_customers),
        ("POST", f"{STORE}/customers", customers.add_customer),
        ("GET", f"{STORE}/customers/{{customer_id}}", customers.get_customer),
        ("PUT", f"{STORE}/customers/{{customer_id}}", customers.put_customer),
        ("PATCH", f"{STORE}/customers/{{customer_id}}", customers.patch_customer),
        ("DELETE", f"{STORE}/customers/{{customer_id}}", customers.delete_customer),
    ]
    for method, template, handler in routes:
        router.add(method, template, handler)
    return router
