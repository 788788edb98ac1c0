"""Which e-mail some customer ids hold in Mailchimp, read by the cheaper of two ways (docs/mailchimp.md).

Why a read at all: a customer PUT answers the same whether it created or updated, and a customer may
be deleted to free an e-mail only after reading that it holds exactly that e-mail. Why only some ids:
the caller asks only for what the synced state cannot say (ids it never wrote, ids a refusal names),
so an increment reads in proportion to what changed, not to the store. Why two ways: one
`GET …/customers/{id}` per id is cheapest for a few ids, the store's pages of 1,000 (id and e-mail only)
for many ids in a small store (a first load, the one-time move of the first release's ids). The first
page says how many customers there are and answers for the ids it holds; the remaining ids then take
whichever way needs fewer requests. Only GETs are sent.
"""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError

PAGE = 1000
ABSENT = ""
"""The e-mail of an id Mailchimp does not hold."""


class CustomerReader:
    """The reads of one upsert: an id read once is not read again, and once every page was read, an id
    not found is absent without a request. Valid because an upsert asks a second time only for ids it
    does not write in between (the customers a refusal names)."""

    def __init__(self, client: MailchimpClient, store_id: str, pool: ThreadPoolExecutor) -> None:
        self.client, self.store_id, self.pool = client, store_id, pool
        self.path = f"/ecommerce/stores/{quote(store_id, safe='')}/customers"
        self._held: dict[str, str] = {}
        self._whole = False

    @property
    def complete(self) -> bool:
        """Every page of the store was read: any id is answered without a request."""
        return self._whole

    def emails(self, ids: Collection[str]) -> dict[str, str]:
        """id → the e-mail Mailchimp holds under it (`ABSENT` when none), for every id asked.

        Raises `MailchimpApiError` when a read fails (after the client's retries)."""
        wanted = set(ids)
        missing = set() if self._whole else wanted.difference(self._held)
        if missing:
            self._read(missing)
        return {cid: self._held.get(cid, ABSENT) for cid in wanted}

    def _read(self, missing: set[str]) -> None:
        rows, total = self._page(0)
        self._held.update(rows)
        self._whole = total <= PAGE
        unread = [cid for cid in missing if cid not in self._held]
        offsets = range(PAGE, total, PAGE)
        if self._whole or not unread:
            return
        if len(offsets) < len(unread):
            for more, _ in self.pool.map(self._page, offsets):
                self._held.update(more)
            self._whole = True
        else:
            self._held.update(zip(unread, self.pool.map(self._one, unread), strict=True))

    def _page(self, offset: int) -> tuple[list[tuple[str, str]], int]:
        """(id, e-mail) of one page of the store's customers, and how many the store holds."""
        answer = self.client.call(
            "GET",
            self.path,
            params={
                "count": PAGE,
                "offset": offset,
                "fields": "customers.id,customers.email_address,total_items",
            },
        )
        if not answer.ok or not isinstance(answer.body, dict):
            raise MailchimpApiError(
                f"Reading the customers of store {self.store_id!r} failed",
                answer.status,
                answer.title,
                answer.detail,
            )
        customers: list[dict[str, Any]] = answer.body.get("customers") or []
        rows = [(str(c.get("id")), str(c.get("email_address") or "")) for c in customers]
        return rows, int(answer.body.get("total_items") or 0)

    def _one(self, customer_id: str) -> str:
        answer = self.client.call(
            "GET", f"{self.path}/{quote(customer_id, safe='')}", params={"fields": "id,email_address"}
        )
        if answer.status == 404:
            return ABSENT
        if not answer.ok or not isinstance(answer.body, dict):
            raise MailchimpApiError(
                f"Reading customer {customer_id!r} failed", answer.status, answer.title, answer.detail
            )
        return str(answer.body.get("email_address") or "")
