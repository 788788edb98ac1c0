"""E-commerce stores and customers in the emulator, and the list members they create."""

from __future__ import annotations

import pytest

from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_auth import assert_problem
from jde_mc_pipeline_tests.emulators.mailchimp.test_emulator_members import md5, put

STORE = "jde-e1"


@pytest.fixture
def store(mailchimp_api):
    body = {
        "id": STORE,
        "list_id": mailchimp_api.list_id,
        "name": "JDE E1",
        "currency_code": "USD",
        "domain": "shop.jde.test",
    }
    response = mailchimp_api.request("POST", "/ecommerce/stores", json=body)
    assert response.status_code == 200
    return response.json()


def customer(api, customer_id, email, opt_in=False, method="PUT", **extra):
    body = {"id": customer_id, "email_address": email, "opt_in_status": opt_in, **extra}
    path = f"/ecommerce/stores/{STORE}/customers"
    if method in ("PUT", "PATCH"):
        path = f"{path}/{customer_id}"
    return api.request(method, path, json=body)


def member_status(api, email):
    response = api.request("GET", api.members_path(md5(email)))
    return response.json()["status"] if response.status_code == 200 else response.status_code


def test_store_create_get_patch_and_errors(mailchimp_api, store):
    assert (
        store["id"] == STORE and store["list_id"] == mailchimp_api.list_id and store["currency_code"] == "USD"
    )
    assert store["created_at"] and store["list_is_active"] is True
    assert mailchimp_api.request("GET", f"/ecommerce/stores/{STORE}").json()["name"] == "JDE E1"
    listed = mailchimp_api.request("GET", "/ecommerce/stores").json()
    assert listed["total_items"] == 1
    patched = mailchimp_api.request("PATCH", f"/ecommerce/stores/{STORE}", json={"name": "Renamed"})
    assert patched.json()["name"] == "Renamed"
    again = {"id": STORE, "list_id": mailchimp_api.list_id, "name": "x", "currency_code": "USD"}
    assert_problem(mailchimp_api.request("POST", "/ecommerce/stores", json=again), 400, "Bad Request")
    same_domain = {
        "id": "other",
        "list_id": mailchimp_api.list_id,
        "name": "x",
        "currency_code": "USD",
        "domain": "shop.jde.test",
    }
    document = assert_problem(
        mailchimp_api.request("POST", "/ecommerce/stores", json=same_domain), 400, "Bad Request"
    )
    assert "A store with the domain shop.jde.test already exists in the account." in document["detail"]
    missing = mailchimp_api.request("POST", "/ecommerce/stores", json={"id": "s2", "name": "x"})
    assert_problem(missing, 400, "Invalid Resource")
    bad_currency = {"id": "s3", "list_id": mailchimp_api.list_id, "name": "x", "currency_code": "XYZ"}
    assert_problem(
        mailchimp_api.request("POST", "/ecommerce/stores", json=bad_currency), 400, "Invalid Resource"
    )
    assert_problem(mailchimp_api.request("GET", "/ecommerce/stores/nope"), 404, "Resource Not Found")


def test_customer_put_get_patch_delete(mailchimp_api, store):
    address = {
        "address1": "1 Main St",
        "city": "Denver",
        "province_code": "CO",
        "postal_code": "80202",
        "country_code": "US",
    }
    created = customer(
        mailchimp_api, "4242", "cust@gmail.com", company="ACME", first_name="Ada", address=address
    )
    assert created.status_code == 200
    document = created.json()
    assert document["id"] == "4242" and document["opt_in_status"] is False
    assert document["orders_count"] == 0 and document["total_spent"] == 0
    assert document["address"]["postal_code"] == "80202" and document["address"]["province"] == ""
    patched = mailchimp_api.request(
        "PATCH", f"/ecommerce/stores/{STORE}/customers/4242", json={"last_name": "Lovelace"}
    )
    assert patched.json()["last_name"] == "Lovelace" and patched.json()["company"] == "ACME"
    by_email = mailchimp_api.request(
        "GET", f"/ecommerce/stores/{STORE}/customers", params={"email_address": "CUST@gmail.com"}
    )
    assert [c["id"] for c in by_email.json()["customers"]] == ["4242"]
    assert mailchimp_api.request("DELETE", f"/ecommerce/stores/{STORE}/customers/4242").status_code == 204
    assert_problem(
        mailchimp_api.request("GET", f"/ecommerce/stores/{STORE}/customers/4242"), 404, "Resource Not Found"
    )
    recreated = customer(mailchimp_api, "4242", "new-address@gmail.com")
    assert recreated.status_code == 200 and recreated.json()["email_address"] == "new-address@gmail.com"


def test_one_customer_per_email_and_no_email_change(mailchimp_api, store):
    customer(mailchimp_api, "1", "one@gmail.com")
    taken = customer(mailchimp_api, "2", "ONE@gmail.com")
    assert assert_problem(taken, 400, "Bad Request")["detail"] == "This customer email already exists"
    changed = customer(mailchimp_api, "1", "changed@gmail.com")
    document = assert_problem(changed, 400, "Bad Request")
    assert document["detail"] == "An email address may not be changed once a customer is created."
    patched = mailchimp_api.request(
        "PATCH", f"/ecommerce/stores/{STORE}/customers/1", json={"email_address": "changed@gmail.com"}
    )
    assert_problem(patched, 400, "Bad Request")
    posted_again = customer(mailchimp_api, "1", "one@gmail.com", method="POST")
    assert_problem(posted_again, 400, "Bad Request")
    assert customer(mailchimp_api, "1", "One@Gmail.com", company="Same person").status_code == 200


def test_customer_validation(mailchimp_api, store):
    invalid = customer(mailchimp_api, "9", "invalid@gmaill")
    document = assert_problem(invalid, 400, "Customer Was Not Saved")
    assert document["detail"] == "invalid@gmaill is an invalid email address and cannot be imported."
    assert_problem(customer(mailchimp_api, "9", "fake@example.com"), 400, "Customer Was Not Saved")
    missing = mailchimp_api.request(
        "PUT", f"/ecommerce/stores/{STORE}/customers/9", json={"id": "9", "email_address": "x@gmail.com"}
    )
    assert_problem(missing, 400, "Invalid Resource")
    mismatch = mailchimp_api.request(
        "PUT",
        f"/ecommerce/stores/{STORE}/customers/9",
        json={"id": "10", "email_address": "x@gmail.com", "opt_in_status": False},
    )
    assert_problem(mismatch, 400, "Invalid Resource")
    too_long = customer(mailchimp_api, "x" * 51, "long@gmail.com")
    assert_problem(too_long, 400, "Invalid Resource")
    unknown_store = mailchimp_api.request(
        "PUT",
        "/ecommerce/stores/none/customers/1",
        json={"id": "1", "email_address": "x@gmail.com", "opt_in_status": False},
    )
    assert_problem(unknown_store, 404, "Resource Not Found")


def test_customer_upserts_list_member_by_opt_in_status(mailchimp_api, store):
    customer(mailchimp_api, "1", "buyer@gmail.com", opt_in=False)
    assert member_status(mailchimp_api, "buyer@gmail.com") == "transactional"
    customer(mailchimp_api, "2", "optin@gmail.com", opt_in=True)
    assert member_status(mailchimp_api, "optin@gmail.com") == "subscribed"
    customer(mailchimp_api, "1", "buyer@gmail.com", opt_in=True)
    assert member_status(mailchimp_api, "buyer@gmail.com") == "subscribed"
    customer(mailchimp_api, "1", "buyer@gmail.com", opt_in=False)
    assert member_status(mailchimp_api, "buyer@gmail.com") == "subscribed"


def test_customer_never_overwrites_an_existing_members_status(mailchimp_api, store):
    put(mailchimp_api, "unsub@gmail.com", status="unsubscribed")
    put(mailchimp_api, "self@gmail.com", status_if_new="subscribed")
    mailchimp_api.self_unsubscribe(md5("self@gmail.com"))
    customer(mailchimp_api, "1", "unsub@gmail.com", opt_in=True)
    customer(mailchimp_api, "2", "self@gmail.com", opt_in=True)
    assert member_status(mailchimp_api, "unsub@gmail.com") == "unsubscribed"
    assert member_status(mailchimp_api, "self@gmail.com") == "unsubscribed"
    put(mailchimp_api, "pending@gmail.com", status_if_new="pending")
    customer(mailchimp_api, "3", "pending@gmail.com", opt_in=False)
    assert member_status(mailchimp_api, "pending@gmail.com") == "pending"


def test_customer_collection_pages(mailchimp_api, store):
    for index in range(12):
        customer(mailchimp_api, str(index), f"c{index}@gmail.com")
    first = mailchimp_api.request("GET", f"/ecommerce/stores/{STORE}/customers").json()
    assert first["store_id"] == STORE and first["total_items"] == 12 and len(first["customers"]) == 10
    rest = mailchimp_api.request("GET", f"/ecommerce/stores/{STORE}/customers", params={"offset": 10}).json()
    assert [c["id"] for c in rest["customers"]] == ["10", "11"]
