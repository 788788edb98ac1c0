"""`MappingSettings`: the mapping options of docs/mapping.md and the thresholds of the WARN checks.

Every option is a typed field with its documented default, its allowed values (`Literal`) or bounds, its
meaning, and its environment variable (environment.py). None is a secret, so in the code location a run
can change any of them in the Launchpad (`resources: {sync_settings: {config: {...}}}`), e.g.
`on_leave: archive` for one run, or `blank_clears: true` for a clean-up.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from jde_mc_pipeline.mapping.options import CUSTOMER, ECOMMERCE_CUSTOMER, LIST_MEMBER, VENDOR, MappingOptions
from jde_mc_pipeline.mapping.segments import SegmentField, check_segments
from jde_mc_pipeline.settings.environment import variable


class Target(enum.Enum):
    """A Mailchimp target a role can be routed to (an Enum: Dagster config has no list of Literals)."""

    list_member = LIST_MEMBER
    ecommerce_customer = ECOMMERCE_CUSTOMER


BOTH: list[str] = [LIST_MEMBER, ECOMMERCE_CUSTOMER]


class MappingSettings(BaseModel):
    """How JDE parties become Mailchimp records (docs/mapping.md, Options) and when the checks warn."""

    customer_search_types: list[str] = Field(
        ["C"],
        description="F0101.AT1 values of customers (besides any F03012 row)",
        json_schema_extra=variable("JDE_MC_CUSTOMER_SEARCH_TYPES"),
    )
    vendor_search_types: list[str] = Field(
        ["V"],
        description="F0101.AT1 values of vendors",
        json_schema_extra=variable("JDE_MC_VENDOR_SEARCH_TYPES"),
    )
    customer_targets: list[Target] = Field(
        BOTH,
        description="targets of the customer role (`none`: neither)",
        json_schema_extra=variable("JDE_MC_CUSTOMER_TARGETS"),
    )
    vendor_targets: list[Target] = Field(
        BOTH,
        description="targets of the vendor role (`none`: neither)",
        json_schema_extra=variable("JDE_MC_VENDOR_TARGETS"),
    )
    status_if_new: Literal["subscribed", "pending", "transactional"] = Field(
        "subscribed",
        description="status_if_new of list members; status is never sent",
        json_schema_extra=variable("JDE_MC_STATUS_IF_NEW"),
    )
    customer_tag: str = Field(
        "JDE Customer",
        min_length=1,
        description="tag the connector owns for the customer role",
        json_schema_extra=variable("JDE_MC_CUSTOMER_TAG"),
    )
    vendor_tag: str = Field(
        "JDE Vendor",
        min_length=1,
        description="tag the connector owns for the vendor role",
        json_schema_extra=variable("JDE_MC_VENDOR_TAG"),
    )
    phone_type_preference: list[str] = Field(
        [""],
        description="F0115.PHTP tried first, in order (blank = business)",
        json_schema_extra=variable("JDE_MC_PHONE_TYPE_PREFERENCE"),
    )
    excluded_phone_types: list[str] = Field(
        ["FAX"],
        description="F0115.PHTP never used",
        json_schema_extra=variable("JDE_MC_EXCLUDED_PHONE_TYPES"),
    )
    default_country: str = Field(
        "US",
        min_length=2,
        max_length=2,
        description="ISO alpha-2 country for a blank F0116.CTR",
        json_schema_extra=variable("JDE_MC_DEFAULT_COUNTRY"),
    )
    blank_clears: bool = Field(
        False,
        description="send blank JDE values, erasing Mailchimp data",
        json_schema_extra=variable("JDE_MC_BLANK_CLEARS"),
    )
    store_name: str = Field(
        "JD Edwards EnterpriseOne",
        description="store name when the connector creates the store",
        json_schema_extra=variable("JDE_MC_STORE_NAME"),
    )
    currency_code: str = Field(
        "USD",
        min_length=3,
        max_length=3,
        description="store currency when created",
        json_schema_extra=variable("JDE_MC_CURRENCY_CODE"),
    )
    opt_in_status: bool = Field(
        False,
        description="customers' opt_in_status (subscription is the member's job)",
        json_schema_extra=variable("JDE_MC_OPT_IN_STATUS"),
    )
    text_limit_bytes: int = Field(
        255,
        ge=1,
        le=10000,
        description="text values cut to this many UTF-8 bytes",
        json_schema_extra=variable("JDE_MC_TEXT_LIMIT_BYTES"),
    )
    on_leave: Literal["untag", "archive", "none"] = Field(
        "untag",
        description="a synced party leaving scope or deleted in JDE: `untag` (owned tags inactive), "
        "`archive` (member archived, customer deleted) or `none`",
        json_schema_extra=variable("JDE_MC_ON_LEAVE"),
    )
    segment_fields: str = Field(
        "[]",
        description="JSON list of JDE code columns sent as merge fields or prefixed tags, e.g. "
        '`[{"column": "F0101.AC02", "tag_prefix": "JDE Region: "}]` (docs/mapping.md, Segment fields)',
        json_schema_extra=variable("JDE_MC_SEGMENT_FIELDS"),
    )
    max_quarantine_rate: float = Field(
        0.10,
        ge=0,
        le=1,
        description="share of pulled (party × target) pairs quarantined above which the check warns",
        json_schema_extra=variable("JDE_MC_MAX_QUARANTINE_RATE"),
    )
    max_rejection_rate: float = Field(
        0.05,
        ge=0,
        le=1,
        description="share of records sent that were rejected or failed above which the check warns",
        json_schema_extra=variable("JDE_MC_MAX_REJECTION_RATE"),
    )
    resend_drifted: bool = Field(
        False,
        description="the drift report marks owned merge fields and tags changed by hand, and customers "
        "missing, for the next sync to write again (never a status: nobody is re-subscribed)",
        json_schema_extra=variable("JDE_MC_RESEND_DRIFTED"),
    )

    @field_validator("customer_targets", "vendor_targets", mode="before")
    @classmethod
    def _none(cls, value: Any) -> Any:
        """`none` (or an empty list) routes the role to no target."""
        return [] if value in (["none"], "none", [""]) else value

    @field_validator("segment_fields", mode="before")
    @classmethod
    def _segments_text(cls, value: Any, info: ValidationInfo) -> Any:
        """A list given in Python (or YAML config) is kept as its JSON text; the text is checked here, so
        that the error names JDE_MC_SEGMENT_FIELDS."""
        text = json.dumps(value) if isinstance(value, list) else value
        if isinstance(text, str):
            role_tags = tuple(str(info.data.get(name, "")) for name in ("customer_tag", "vendor_tag"))
            check_segments(_segment_fields(text), role_tags)
        return text

    @model_validator(mode="after")
    def _coherent(self) -> MappingSettings:
        """The options together must make sense (a country code, two different tags): checked when the
        settings are read, so a wrong value stops the code location from loading, not a run."""
        self.options()
        return self

    def options(self, store_id: str = "jde-e1") -> MappingOptions:
        """The mapping options these fields describe, for the store `store_id`."""
        return MappingOptions(
            customer_search_types=tuple(self.customer_search_types),
            vendor_search_types=tuple(self.vendor_search_types),
            role_targets=((CUSTOMER, _names(self.customer_targets)), (VENDOR, _names(self.vendor_targets))),
            status_if_new=self.status_if_new,
            customer_tag=self.customer_tag,
            vendor_tag=self.vendor_tag,
            phone_type_preference=tuple(self.phone_type_preference),
            excluded_phone_types=tuple(self.excluded_phone_types),
            default_country=self.default_country,
            blank_clears=self.blank_clears,
            store_id=store_id,
            store_name=self.store_name,
            currency_code=self.currency_code,
            opt_in_status=self.opt_in_status,
            text_limit_bytes=self.text_limit_bytes,
            on_leave=self.on_leave,
            segment_fields=_segment_fields(self.segment_fields),
        )


def _segment_fields(text: str) -> tuple[SegmentField, ...]:
    """The segment fields of the setting's JSON text; a ValueError says which entry is wrong and why."""
    try:
        entries = json.loads(text or "[]")
    except json.JSONDecodeError as error:
        raise ValueError(f"segment_fields is not JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValueError("segment_fields must be a JSON list of objects")
    keys = list(SegmentField.__dataclass_fields__)
    for entry in entries:
        unknown = sorted(set(entry) - set(keys))
        if unknown:
            raise ValueError(f"segment_fields: unknown key(s) {', '.join(unknown)}; known: {', '.join(keys)}")
    return tuple(SegmentField(**{k: str(v) for k, v in entry.items()}) for entry in entries)


def _names(targets: Iterable[Target | str]) -> tuple[str, ...]:
    """Target names (pydantic keeps a default as given, strings, and parses config values to members)."""
    return tuple(t.value if isinstance(t, Target) else str(t) for t in targets)
