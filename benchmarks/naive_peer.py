"""The naive peer: the loop a user would write instead of this connector (one PUT per member and per
customer with the official `mailchimp-marketing` client, 10 threads), shared by mailchimp_upsert.py and
`end_to_end.py --naive-peer`.

The bodies are the ones our client sends for the same records, so both sides write the same data: a
member's is its batch-subscribe entry (`subscribe_entry`: e-mail, `status_if_new`, merge fields and the
active tags, which a PUT applies when it creates the member), a customer's is the PUT body our client
puts in its `/batches` operations (ecommerce.py). The official client opens a new connection per call
(it calls `requests.put` without a session): that is how it behaves, so it is measured as it is.

Every answer is counted per kind of write: `ok` (2xx), `HTTP <status>` (non-2xx, e.g. 429 when the
emulator's connection limit is hit) or `error <type>` (no answer at all). Nothing is retried.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import mailchimp_marketing
import requests
from mailchimp_marketing.api_client import ApiClientError

from jde_mc_pipeline.mailchimp.ecommerce import _body as customer_put_body
from jde_mc_pipeline.mailchimp.members import subscribe_entry
from jde_mc_pipeline.mailchimp.merge_fields import MergeFieldSpec
from jde_mc_pipeline.mailchimp.records import CustomerWrite, MemberWrite

THREADS = 10


def member_body(record: MemberWrite) -> dict[str, Any]:
    """The PUT body of a member: its batch-subscribe entry (tags as a list)."""
    body = subscribe_entry(record)
    if "tags" in body:
        body["tags"] = list(body["tags"])
    return body


def customer_body(record: CustomerWrite) -> dict[str, Any]:
    """The PUT body of a customer, as our client sends it."""
    return customer_put_body(record)


class NaivePeer:
    """The official client against `base_url` (the part before `/{dc}/3.0`) and a pool of `threads`."""

    def __init__(self, base_url: str, api_key: str, threads: int = THREADS) -> None:
        self.official = mailchimp_marketing.Client()
        self.official.set_config({"api_key": api_key, "server": api_key.rpartition("-")[2]})
        self.official.api_client.host = f"{base_url}/server/3.0"  # the SDK swaps "server" for the dc
        self.outcomes: dict[str, Counter[str]] = {
            "setup": Counter(),
            "members": Counter(),
            "customers": Counter(),
        }
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads)

    def __enter__(self) -> NaivePeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown()

    def failures(self) -> dict[str, int]:
        """Every answer that was not a 2xx, by kind (`HTTP 429`, ...), over all writes."""
        total: Counter[str] = Counter()
        for counts in self.outcomes.values():
            total.update({kind: n for kind, n in counts.items() if kind != "ok"})
        return dict(total)

    def _call(self, what: str, func: Callable[..., Any], *args: Any) -> None:
        try:
            answer = func(*args)
            # The SDK returns the bare response, without raising, when a non-2xx answer has no JSON body.
            kind = (
                f"HTTP {answer.status_code}"
                if isinstance(answer, requests.Response) and not answer.ok
                else "ok"
            )
        except ApiClientError as error:
            kind = f"HTTP {error.status_code}" if error.status_code else f"error {type(error.text).__name__}"
        except Exception as error:
            kind = f"error {type(error).__name__}"
        with self._lock:
            self.outcomes[what][kind] += 1

    def create_merge_fields(self, list_id: str, specs: Iterable[MergeFieldSpec]) -> None:
        """One POST per merge field, as our `ensure_merge_fields` creates them (one by one, in order)."""
        for spec in specs:
            body = {
                "tag": spec.tag,
                "name": spec.name,
                "type": spec.types[0],
                "required": False,
                "public": False,
            }
            self._call("setup", self.official.lists.add_list_merge_field, list_id, body)

    def create_store(self, store_id: str, list_id: str, name: str, currency_code: str) -> None:
        body = {"id": store_id, "list_id": list_id, "name": name, "currency_code": currency_code}
        self._call("setup", self.official.ecommerce.add_store, body)

    def put_members(self, list_id: str, writes: Sequence[tuple[str, MemberWrite]]) -> None:
        """PUT /lists/{list_id}/members/{subscriber_hash} per (hash, record), `threads` at a time."""
        put = self.official.lists.set_list_member
        list(self._pool.map(lambda w: self._call("members", put, list_id, w[0], member_body(w[1])), writes))

    def put_customers(self, store_id: str, writes: Sequence[tuple[str, CustomerWrite]]) -> None:
        """PUT /ecommerce/stores/{store_id}/customers/{customer_id} per (id, record), `threads` at a time."""
        put = self.official.ecommerce.set_store_customer
        list(
            self._pool.map(
                lambda w: self._call("customers", put, store_id, w[0], customer_body(w[1])), writes
            )
        )
