"""The official `mailchimp-marketing` Python client, written by Mailchimp, against the emulator.

The client builds `https://server.api.mailchimp.com/3.0`, swaps `server` for the data center and sends
Basic auth `('user', key)`; pointing its host template at the emulator is all it takes.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time

import mailchimp_marketing as MailchimpMarketing  # noqa: N812 - the name Mailchimp's docs use
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError


@pytest.fixture
def official(mailchimp_emulator):
    dc = mailchimp_emulator.api_key.rpartition("-")[2]
    client = MailchimpMarketing.Client()
    client.set_config({"api_key": mailchimp_emulator.api_key, "server": dc, "timeout": 30})
    client.api_client.host = mailchimp_emulator.api_url.replace("{dc}", "server")
    return client


def test_official_client_ping_list_and_members(official, mailchimp_emulator):
    list_id = mailchimp_emulator.list_id
    assert official.ping.get() == {"health_status": "Everything's Chimpy!"}
    assert official.lists.get_list(list_id)["id"] == list_id
    fields = official.lists.get_list_merge_fields(list_id, count=100)
    assert "FNAME" in [f["tag"] for f in fields["merge_fields"]]
    member_hash = hashlib.md5(b"ada.lovelace@gmail.com").hexdigest()
    body = {
        "email_address": "Ada.Lovelace@gmail.com",
        "status_if_new": "subscribed",
        "merge_fields": {"FNAME": "Ada"},
    }
    upserted = official.lists.set_list_member(list_id, member_hash, body)
    assert upserted["id"] == member_hash and upserted["status"] == "subscribed"
    assert official.lists.get_list_member(list_id, member_hash)["merge_fields"]["FNAME"] == "Ada"
    official.lists.update_list_member_tags(
        list_id, member_hash, {"tags": [{"name": "JDE Customer", "status": "active"}]}
    )
    assert official.lists.get_list_member_tags(list_id, member_hash)["tags"][0]["name"] == "JDE Customer"
    with pytest.raises(ApiClientError) as raised:
        official.lists.add_list_member(
            list_id, {"email_address": "ada.lovelace@gmail.com", "status": "subscribed"}
        )
    assert raised.value.status_code == 400
    assert json.loads(raised.value.text)["title"] == "Member Exists"


def test_official_client_batch_subscribe(official, mailchimp_emulator):
    members = [{"email_address": f"person{i}@gmail.com", "status_if_new": "subscribed"} for i in range(5)]
    result = official.lists.batch_list_members(
        mailchimp_emulator.list_id, {"members": members, "update_existing": True}
    )
    assert result["total_created"] == 5 and result["error_count"] == 0
    again = official.lists.batch_list_members(
        mailchimp_emulator.list_id, {"members": members, "update_existing": True}
    )
    assert again["total_updated"] == 5
    listed = official.lists.get_list_members_info(mailchimp_emulator.list_id, count=100)
    assert listed["total_items"] == 5


def test_official_client_store_customers_and_batches(official, mailchimp_emulator):
    store = official.ecommerce.add_store(
        {"id": "jde-e1", "list_id": mailchimp_emulator.list_id, "name": "JDE E1", "currency_code": "USD"}
    )
    assert store["id"] == "jde-e1"
    customer = official.ecommerce.set_store_customer(
        "jde-e1",
        "100",
        {"id": "100", "email_address": "buyer@gmail.com", "opt_in_status": False, "first_name": "Bo"},
    )
    assert customer["first_name"] == "Bo"
    assert official.ecommerce.get_store_customer("jde-e1", "100")["email_address"] == "buyer@gmail.com"
    operations = [
        {
            "method": "PUT",
            "path": f"/ecommerce/stores/jde-e1/customers/{n}",
            "operation_id": f"cust-{n}",
            "body": json.dumps(
                {"id": str(n), "email_address": f"buyer{n}@gmail.com", "opt_in_status": False}
            ),
        }
        for n in range(200, 210)
    ]
    batch = official.batches.start({"operations": operations})
    deadline = time.monotonic() + 20
    while batch["status"] != "finished" and time.monotonic() < deadline:
        time.sleep(0.02)
        batch = official.batches.status(batch["id"])
    assert batch["status"] == "finished" and batch["errored_operations"] == 0
    archive = requests.get(batch["response_body_url"], timeout=30).content
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        results = [r for m in tar.getmembers() if m.isfile() for r in json.load(tar.extractfile(m))]
    assert sorted(r["operation_id"] for r in results) == sorted(op["operation_id"] for op in operations)
    assert official.ecommerce.get_all_store_customers("jde-e1", count=100)["total_items"] == 11
