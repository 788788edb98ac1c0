"""What the sync needs to know besides the two clients: audience, store, mapping options, batching.

A plain value, built from the settings' fields (jde_mc_pipeline/settings/, where every setting, its
default and its environment variable are declared once), so that the sync's functions need neither
Dagster nor the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jde_mc_pipeline.mapping.options import MappingOptions


@dataclass(frozen=True)
class SyncSettings:
    """Everything the sync decides by configuration (the clients carry URLs and credentials)."""

    list_id: str
    mapping: MappingOptions = field(default_factory=MappingOptions)
    customer_batch_threshold: int = 100
    """More customers than this in one push go through `/batches` instead of one PUT each."""
    member_chunk_size: int = 500
    """Members per batch-subscribe call (Mailchimp's maximum is 500)."""
    jde_timezone: str = "UTC"
    """JDE's local time zone: decides 'today' for the current F0116 address."""
    resend_drifted: bool = False
    """The drift report marks the owned fields it finds changed for the next sync to write again."""

    @property
    def store_id(self) -> str:
        return self.mapping.store_id
