"""Every mapping option of mapping.md, with its documented default, in one frozen dataclass.

mapping.md says "every default is configuration, not a constant": the mapping code reads these fields
and nothing else, and docs/mapping.md is checked against `MappingOptions()` by a test so that the
documented defaults cannot drift from the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pycountry

from jde_mc_pipeline.mapping.segments import SegmentField, check_segments

CUSTOMER = "customer"
VENDOR = "vendor"
ROLES: tuple[str, ...] = (CUSTOMER, VENDOR)

LIST_MEMBER = "list_member"
ECOMMERCE_CUSTOMER = "ecommerce_customer"
TARGETS: tuple[str, ...] = (LIST_MEMBER, ECOMMERCE_CUSTOMER)

STATUSES_IF_NEW: tuple[str, ...] = ("subscribed", "pending", "transactional")
ON_LEAVE_ACTIONS: tuple[str, ...] = ("untag", "archive", "none")
"""What happens to the record of a synced party that leaves scope or is deleted in JDE (docs/mapping.md)."""


@dataclass(frozen=True)
class MappingOptions:
    """The knobs of docs/mapping.md; the defaults are the documented ones."""

    customer_search_types: tuple[str, ...] = ("C",)
    """F0101.AT1 values that make a party a customer (besides any F03012 row)."""
    vendor_search_types: tuple[str, ...] = ("V",)
    """F0101.AT1 values that make a party a vendor."""
    role_targets: tuple[tuple[str, tuple[str, ...]], ...] = (
        (CUSTOMER, (LIST_MEMBER, ECOMMERCE_CUSTOMER)),
        (VENDOR, (LIST_MEMBER, ECOMMERCE_CUSTOMER)),
    )
    """Which role goes to which target; by default both roles go to both targets."""
    status_if_new: str = "subscribed"
    """`status_if_new` of list members (subscribed, pending or transactional); `status` is never sent."""
    customer_tag: str = "JDE Customer"
    vendor_tag: str = "JDE Vendor"
    phone_type_preference: tuple[str, ...] = ("",)
    """PHTP values tried first, in order (blank = business); then any other type not excluded."""
    excluded_phone_types: tuple[str, ...] = ("FAX",)
    """PHTP values never used as the phone."""
    default_country: str = "US"
    """ISO 3166 alpha-2 country used when F0116.CTR is blank."""
    blank_clears: bool = False
    """Send blank JDE values (erasing Mailchimp data) instead of leaving them out."""
    store_id: str = "jde-e1"
    store_name: str = "JD Edwards EnterpriseOne"
    currency_code: str = "USD"
    opt_in_status: bool = False
    """E-commerce customers' opt_in_status (subscription is the list member's job)."""
    text_limit_bytes: int = 255
    """Text values are cut to this many bytes of UTF-8, never inside a character."""
    on_leave: str = "untag"
    """A synced party leaving scope (no role left, or deleted in JDE): `untag` sets its owned tags
    inactive, `archive` archives the member and deletes the customer, `none` leaves both as they are."""
    segment_fields: tuple[SegmentField, ...] = ()
    """JDE code columns sent as merge fields or prefixed tags (mapping/segments.py); none by default."""
    owned_tags: tuple[str, ...] = field(init=False, repr=False)
    """The role tags (segment tags are owned by their prefix: `owns_tag`)."""

    def __post_init__(self) -> None:
        if self.status_if_new not in STATUSES_IF_NEW:
            raise ValueError(f"status_if_new must be one of {STATUSES_IF_NEW}, not {self.status_if_new!r}")
        if pycountry.countries.get(alpha_2=self.default_country.upper()) is None:
            raise ValueError(f"default_country {self.default_country!r} is not an ISO 3166 alpha-2 code")
        object.__setattr__(self, "default_country", self.default_country.upper())
        for role, targets in self.role_targets:
            if role not in ROLES or not set(targets) <= set(TARGETS):
                raise ValueError(f"role_targets: unknown role or target in {role!r} → {targets!r}")
        if self.on_leave not in ON_LEAVE_ACTIONS:
            raise ValueError(f"on_leave must be one of {ON_LEAVE_ACTIONS}, not {self.on_leave!r}")
        if self.customer_tag == self.vendor_tag:
            raise ValueError("customer_tag and vendor_tag must differ")
        object.__setattr__(self, "owned_tags", (self.customer_tag, self.vendor_tag))
        check_segments(self.segment_fields, self.owned_tags)

    @property
    def tag_prefixes(self) -> tuple[str, ...]:
        """The prefixes of the segment tags the connector owns."""
        return tuple(s.tag_prefix for s in self.segment_fields if s.tag_prefix)

    def owns_tag(self, name: str) -> bool:
        """Whether the connector owns this tag: a role tag or a tag of a configured segment prefix.

        Every other tag is the marketer's: the connector never sets it inactive nor reports it."""
        return name in self.owned_tags or any(name.startswith(p) for p in self.tag_prefixes)

    def roles_for(self, target: str) -> tuple[str, ...]:
        """The roles routed to this target, in ROLES order."""
        routed = {role for role, targets in self.role_targets if target in targets}
        return tuple(role for role in ROLES if role in routed)

    def tag_for(self, role: str) -> str:
        """The tag name a role carries on list members."""
        return self.customer_tag if role == CUSTOMER else self.vendor_tag
