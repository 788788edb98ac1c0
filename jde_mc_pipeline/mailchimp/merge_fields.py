"""The audience's merge fields must be able to hold what the mapping sends (docs/mapping.md).

Checked before any member is written: a field of a conflicting type (ADDRESS that is not `address`,
PHONE that is neither `phone` nor `text`, …) stops the sync with one error naming every conflict,
because writing into it would be dropped or refused record by record. COMPANY and JDEAN8 are created
when missing; the default fields (FNAME, LNAME, ADDRESS, PHONE) are only checked, since a marketer may
have removed them on purpose, and reported when missing (Mailchimp ignores values for unknown tags).
The merge fields of the segment fields are created when missing too, as text or dropdown; a dropdown
gains the values it lacks before the members carrying them are written (`add_choices`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError, MergeFieldConflictError
from jde_mc_pipeline.mapping.segments import SegmentField

PAGE = 1000


@dataclass(frozen=True)
class MergeFieldSpec:
    """What the connector needs of one merge tag: accepted types, and how to create it if allowed."""

    tag: str
    types: tuple[str, ...]
    name: str
    create: bool = False
    choices: tuple[str, ...] = ()
    """A dropdown's first choices when the connector creates it (more are added as they appear)."""


DEFAULT_MERGE_FIELDS: tuple[MergeFieldSpec, ...] = (
    MergeFieldSpec("FNAME", ("text",), "First Name"),
    MergeFieldSpec("LNAME", ("text",), "Last Name"),
    MergeFieldSpec("ADDRESS", ("address",), "Address"),
    MergeFieldSpec("PHONE", ("phone", "text"), "Phone Number"),
    MergeFieldSpec("COMPANY", ("text",), "Company", create=True),
    MergeFieldSpec("JDEAN8", ("text",), "JDE Address Number", create=True),
)


@dataclass(frozen=True)
class MergeFieldReport:
    """The audience's fields as found (tag → type), what was created, and what needs a human look."""

    existing: dict[str, str]
    created: tuple[str, ...]
    missing: tuple[str, ...]
    required_unfilled: tuple[str, ...]


def list_merge_fields(client: MailchimpClient, list_id: str) -> list[dict[str, Any]]:
    """Every merge field of the list (paged: the API's default page is only 10)."""
    fields: list[dict[str, Any]] = []
    while True:
        answer = client.call(
            "GET", f"/lists/{list_id}/merge-fields", params={"count": PAGE, "offset": len(fields)}
        )
        if not answer.ok:
            raise MailchimpApiError("Reading merge fields failed", answer.status, answer.title, answer.detail)
        page = (answer.body or {}).get("merge_fields") or []
        fields.extend(page)
        total = int((answer.body or {}).get("total_items", len(fields)))
        if not page or len(fields) >= total:
            return fields


def ensure_merge_fields(
    client: MailchimpClient, list_id: str, specs: tuple[MergeFieldSpec, ...] = DEFAULT_MERGE_FIELDS
) -> MergeFieldReport:
    """Check every spec, raise `MergeFieldConflictError` before any write, then create what is allowed."""
    found = {str(f.get("tag", "")).upper(): f for f in list_merge_fields(client, list_id)}
    conflicts = {
        spec.tag: (str(found[spec.tag].get("type")), spec.types)
        for spec in specs
        if spec.tag in found and found[spec.tag].get("type") not in spec.types
    }
    if conflicts:
        raise MergeFieldConflictError(conflicts)
    created: list[str] = []
    missing: list[str] = []
    for spec in specs:
        if spec.tag in found:
            continue
        if not spec.create:
            missing.append(spec.tag)
            continue
        body = {"tag": spec.tag, "name": spec.name, "type": spec.types[0], "required": False, "public": False}
        if spec.types[0] == "dropdown":
            body["options"] = {"choices": list(spec.choices)}
        answer = client.call("POST", f"/lists/{list_id}/merge-fields", body=body)
        if not answer.ok and answer.ambiguous and _exists(client, list_id, spec.tag):
            answer = _replace_ok(answer)  # an interrupted first attempt did create it
        if not answer.ok:
            raise MailchimpApiError(
                f"Creating merge field {spec.tag} failed", answer.status, answer.title, answer.detail
            )
        found[spec.tag] = answer.body or body
        created.append(spec.tag)
    ours = {spec.tag for spec in specs}
    required_unfilled = tuple(
        sorted(tag for tag, f in found.items() if f.get("required") and tag not in ours)
    )
    return MergeFieldReport(
        existing={tag: str(f.get("type")) for tag, f in found.items()},
        created=tuple(created),
        missing=tuple(missing),
        required_unfilled=required_unfilled,
    )


def segment_specs(segments: Iterable[SegmentField], choices: dict[str, tuple[str, ...]] | None = None):
    """The merge fields of the segment fields (mapping/segments.py): created when missing, of their type
    (a text field found as a dropdown, or the reverse, is a conflict); `choices`: a dropdown's first ones."""
    return tuple(
        MergeFieldSpec(
            s.merge_field, (s.type,), s.name or s.merge_field, True, (choices or {}).get(s.merge_field, ())
        )
        for s in segments
        if s.merge_field
    )


def add_choices(client: MailchimpClient, list_id: str, tag: str, values: Iterable[str]) -> tuple[str, ...]:
    """Add to a dropdown the values it lacks (one PATCH, only when some are new); returns those added.

    Why: Mailchimp refuses a dropdown value that is not one of the field's choices, and a JDE code list
    grows (a new region, a code with no UDC row sent as the code). Choices are only ever added, never
    removed or reordered: a marketer's segment may use any of them.
    """
    field = next(
        (f for f in list_merge_fields(client, list_id) if str(f.get("tag", "")).upper() == tag), None
    )
    if field is None:
        raise MailchimpApiError(f"Merge field {tag} not found", 404, "Resource Not Found", tag)
    current = list((field.get("options") or {}).get("choices") or [])
    new = tuple(v for v in dict.fromkeys(values) if v and v not in current)
    if not new:
        return ()
    options = {**(field.get("options") or {}), "choices": current + list(new)}
    answer = client.call(
        "PATCH", f"/lists/{list_id}/merge-fields/{field['merge_id']}", body={"options": options}
    )
    if not answer.ok:
        raise MailchimpApiError(f"Adding choices to {tag} failed", answer.status, answer.title, answer.detail)
    return new


def _exists(client: MailchimpClient, list_id: str, tag: str) -> bool:
    return any(str(f.get("tag", "")).upper() == tag for f in list_merge_fields(client, list_id))


def _replace_ok(answer: Any) -> Any:
    return type(answer)(answer.method, answer.path, 200, None, answer.attempts, ambiguous=True)
