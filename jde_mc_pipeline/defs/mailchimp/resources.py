"""`MailchimpResource`: the account, the audience, the store, and how hard to push, as typed fields.

Each field names its environment variable (read by defs/environment.py when the definitions load); the
API key and the audience are `dg.EnvVar`s, resolved when a run launches and shown by name only.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from jde_mc_pipeline.mailchimp.client import DEFAULT_API_URL, MailchimpClient, Recorder, RetryPolicy
from jde_mc_pipeline.mailchimp.limits import DEFAULT_CONNECTION_CAP


class MailchimpResource(dg.ConfigurableResource):
    """Mailchimp Marketing API: builds a pooled `MailchimpClient` for the audience and store."""

    api_key: str = Field(
        description="<key>-<dc>; the data center is the part after the last -",
        json_schema_extra={"env": "MAILCHIMP_API_KEY"},
    )
    list_id: str = Field(description="the audience (list) id", json_schema_extra={"env": "MAILCHIMP_LIST_ID"})
    api_url: str = Field(
        DEFAULT_API_URL,
        description="base URL template with {dc}",
        json_schema_extra={"env": "MAILCHIMP_API_URL"},
    )
    store_id: str = Field(
        "jde-e1", description="e-commerce store id", json_schema_extra={"env": "MAILCHIMP_STORE_ID"}
    )
    max_connections: int = Field(
        DEFAULT_CONNECTION_CAP,
        ge=1,
        le=10,
        description="simultaneous Mailchimp connections of one process (Mailchimp refuses the 11th per user)",
        json_schema_extra={"env": "JDE_MC_MAX_CONNECTIONS"},
    )
    max_attempts: int = Field(
        8,
        ge=1,
        le=50,
        description="attempts of one Mailchimp call",
        json_schema_extra={"env": "JDE_MC_MAILCHIMP_MAX_ATTEMPTS"},
    )
    max_retry_seconds: float = Field(
        300.0,
        ge=0,
        description="seconds one call may spend retrying",
        json_schema_extra={"env": "JDE_MC_MAILCHIMP_MAX_RETRY_SECONDS"},
    )
    customer_batch_threshold: int = Field(
        100,
        ge=0,
        description="more customers than this in one push go through /batches",
        json_schema_extra={"env": "JDE_MC_CUSTOMER_BATCH_THRESHOLD"},
    )
    member_chunk_size: int = Field(
        500,
        ge=1,
        le=500,
        description="members per batch-subscribe call",
        json_schema_extra={"env": "JDE_MC_MEMBER_CHUNK_SIZE"},
    )

    def client(
        self,
        recorder: Recorder | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (10.0, 120.0),
    ) -> MailchimpClient:
        """A new pooled client; `recorder` receives every HTTP attempt (the audit's `mailchimp_writes`).
        `retry` and `timeout`: for `jde-mc ping`, which wants a quick answer rather than patience."""
        return MailchimpClient(
            self.api_key,
            api_url=self.api_url,
            max_connections=self.max_connections,
            timeout=timeout,
            retry=retry or RetryPolicy(max_attempts=self.max_attempts, max_total_s=self.max_retry_seconds),
            recorder=recorder,
        )
