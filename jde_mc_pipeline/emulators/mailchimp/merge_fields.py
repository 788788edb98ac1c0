"""Merge fields: the audience's field definitions and the rules for values on members (docs/mailchimp.md,
Merge fields).

Value rules, applied by every member write (POST/PUT/PATCH, batch subscribe):
- unknown tags are ignored silently; `""` (or null) clears a field;
- text and phone are cut to 255 bytes; numbers come back as JSON numbers ("Please enter a number");
- ADDRESS needs non-empty `addr1`, `city`, `state`, `zip` (`addr2`, `country` optional, country
  defaulting to `US`); an incomplete address (missing part, wrong key names, a plain string) is dropped
  silently when the field is optional and refused with "Please enter a complete address" when required;
- a required field empty in the resulting member → "Please enter a value" (checked on the member as it
  would be stored, so marking a field required makes later updates of members without it fail, as
  integrators report), unless `skip_merge_validation=true`.
All failures are 400 `Invalid Resource` "Your merge fields were invalid." with `errors[{field, message}]`.

[unconfirmed] choices: the messages for bad dates, birthdays, zips, URLs and choices; a tag longer than
10 characters or with characters other than A-Z, 0-9, _ → 400 `Invalid Resource` with `errors[]`; a tag
generated from the name (letters and digits, upper case, 10 at most, else `MMERGE<id>`); tags compared
exactly (upper case); changing a tag by PATCH is refused rather than emulated.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import Audience, MergeField
from jde_mc_pipeline.emulators.mailchimp.validation import TEXT_LIMIT_BYTES, cut_text
from jde_mc_pipeline.emulators.mailchimp.views import (
    audience_of,
    check_enum,
    check_types,
    links,
    page,
    require_fields,
)

FIELD_TYPES = (
    "text",
    "number",
    "address",
    "phone",
    "date",
    "url",
    "imageurl",
    "radio",
    "dropdown",
    "birthday",
    "zip",
)
ADDRESS_REQUIRED = ("addr1", "city", "state", "zip")
TAG_LIMIT = 10
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d-%m-%Y", "%m/%d/%Y")
_TAG_CHARS = re.compile(r"^[A-Z0-9_]+$")
_PLAIN_TEXT = frozenset(("text", "phone"))  # types whose string values are only cut to length
_SURELY_SHORT = TEXT_LIMIT_BYTES // 4  # characters that fit the limit whatever their UTF-8 length


class _Drop(Exception):  # noqa: N818 - control flow: the value is discarded silently
    pass


class _Bad(Exception):  # noqa: N818 - control flow: the value is refused with this message
    pass


def apply_merge_values(
    audience: Audience, current: dict[str, Any], incoming: Any, *, skip_validation: bool
) -> dict[str, Any]:
    """The member's merge values after applying `incoming`; raises ApiError for invalid values."""
    if incoming is None:
        incoming = {}
    if not isinstance(incoming, dict):
        raise errors.schema_error([{"field": "merge_fields", "message": "Schema describes object"}])
    result = dict(current)
    problems: list[dict[str, str]] = []
    definitions = audience.merge_fields
    for tag, value in incoming.items():
        definition = definitions.get(tag)
        if definition is None:
            continue
        if value.__class__ is str:
            if not value:
                result.pop(tag, None)
                continue
            if definition.type in _PLAIN_TEXT:  # what _convert does, minus the tests that cannot fail
                result[tag] = value if len(value) <= _SURELY_SHORT else cut_text(value)
                continue
        elif value is None:
            result.pop(tag, None)
            continue
        try:
            result[tag] = _convert(definition, value, skip_validation)
        except _Drop:
            continue
        except _Bad as bad:
            problems.append({"field": tag, "message": str(bad)})
    if not skip_validation:
        flagged = {p["field"] for p in problems}
        for definition in audience.merge_fields.values():
            if (
                definition.required
                and definition.tag not in flagged
                and result.get(definition.tag) in (None, "")
            ):
                message = (
                    "Please enter a complete address"
                    if definition.type == "address"
                    else "Please enter a value"
                )
                problems.append({"field": definition.tag, "message": message})
    if problems:
        raise errors.merge_fields_invalid(problems)
    return result


def _convert(definition: MergeField, value: Any, skip_validation: bool) -> Any:
    kind = definition.type
    if kind == "address":
        return _address(definition, value, skip_validation)
    if isinstance(value, (dict, list, bool)):
        raise _Bad("Data did not match any of the schemas described in anyOf.")
    if kind == "number":
        if isinstance(value, (int, float)):
            return value
        try:
            number = float(value)
        except ValueError:
            raise _Bad("Please enter a number") from None
        return int(number) if number.is_integer() else number
    text = str(value)
    if kind == "date" and not _parses(text, DATE_FORMATS):
        raise _Bad("Please enter a valid date")
    if kind == "birthday" and not (
        re.fullmatch(r"\d\d/\d\d", text) and _parses(f"2000/{text}", ("%Y/%m/%d",))
    ):
        raise _Bad("Please enter a valid birthday (MM/DD)")
    if kind == "zip" and not re.fullmatch(r"\d{5}", text):
        raise _Bad("Please enter a valid zip code (5 digits)")
    if kind in ("url", "imageurl") and not re.match(r"^https?://[^\s/]+\.[^\s]+$", text):
        raise _Bad("Please enter a valid URL")
    if kind in ("radio", "dropdown") and text not in definition.options.get("choices", []):
        raise _Bad("Please choose one of the field's options")
    return cut_text(text)


def _parses(text: str, formats: tuple[str, ...]) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        return True
    return False


def _address(definition: MergeField, value: Any, skip_validation: bool) -> dict[str, str]:
    if not (isinstance(value, dict) and _complete(value)):
        if definition.required and not skip_validation:
            raise _Bad("Please enter a complete address")
        raise _Drop
    get = value.get
    return {
        "addr1": cut_text(str(get("addr1") or "")),
        "addr2": cut_text(str(get("addr2") or "")),
        "city": cut_text(str(get("city") or "")),
        "state": cut_text(str(get("state") or "")),
        "zip": cut_text(str(get("zip") or "")),
        "country": cut_text(str(get("country") or "US")),
    }


def _complete(value: dict[str, Any]) -> bool:
    for part in ADDRESS_REQUIRED:
        text = value.get(part)
        if not (isinstance(text, str) and text.strip()):
            return False
    return True


def merge_field_view(call: Call, audience: Audience, field: MergeField) -> dict[str, Any]:
    path = f"/lists/{audience.id}/merge-fields"
    return {
        "merge_id": field.merge_id,
        "tag": field.tag,
        "name": field.name,
        "type": field.type,
        "required": field.required,
        "default_value": field.default_value,
        "public": field.public,
        "display_order": field.display_order,
        "options": field.options,
        "help_text": field.help_text,
        "list_id": audience.id,
        "_links": links(
            call,
            f"{path}/{field.merge_id}",
            ("self", "GET", ""),
            ("parent", "GET", ""),
            ("update", "PATCH", ""),
            ("delete", "DELETE", ""),
        ),
    }


def list_merge_fields(call: Call) -> Reply:
    audience = audience_of(call)
    count, offset = call.paging()
    wanted_type = call.query_value("type")
    wanted_required = call.query_value("required")
    fields = [
        f
        for f in audience.merge_fields.values()
        if (wanted_type is None or f.type == wanted_type)
        and (wanted_required is None or f.required == call.flag("required"))
    ]
    return Reply(
        200,
        {
            "merge_fields": [merge_field_view(call, audience, f) for f in page(fields, count, offset)],
            "list_id": audience.id,
            "total_items": len(fields),
            "_links": links(
                call, f"/lists/{audience.id}/merge-fields", ("self", "GET", ""), ("create", "POST", "")
            ),
        },
    )


def _field_of(call: Call, audience: Audience) -> MergeField:
    try:
        field = audience.merge_field_by_id(int(call.params["merge_id"]))
    except ValueError:
        field = None
    if field is None:
        raise errors.not_found()
    return field


def get_merge_field(call: Call) -> Reply:
    audience = audience_of(call)
    return Reply(200, merge_field_view(call, audience, _field_of(call, audience)))


_SETTABLE = {
    "name": str, "required": bool, "default_value": str, "public": bool,
    "display_order": int, "options": dict, "help_text": str,
}  # fmt: skip


def add_merge_field(call: Call) -> Reply:
    audience = audience_of(call)
    body = call.json_object()
    require_fields(body, ("name", "type"))
    check_types(body, {"tag": str, "type": str, **_SETTABLE})
    check_enum(body, "type", FIELD_TYPES)
    merge_id = max((f.merge_id for f in audience.merge_fields.values()), default=0) + 1
    tag = _checked_tag(audience, body.get("tag"), body["name"], merge_id)
    field = MergeField(
        merge_id=merge_id,
        tag=tag,
        name=body["name"],
        type=body["type"],
        display_order=max((f.display_order for f in audience.merge_fields.values()), default=1) + 1,
    )
    _apply_settings(field, body)
    audience.merge_fields[tag] = field
    return Reply(200, merge_field_view(call, audience, field))


def update_merge_field(call: Call) -> Reply:
    audience = audience_of(call)
    field = _field_of(call, audience)
    body = call.json_object()
    check_types(body, {"tag": str, **_SETTABLE})
    if body.get("tag") is not None and body["tag"].upper() != field.tag:
        raise errors.invalid_resource("Changing a merge field's tag is not supported by the emulator.")
    _apply_settings(field, body)
    return Reply(200, merge_field_view(call, audience, field))


def delete_merge_field(call: Call) -> Reply:
    audience = audience_of(call)
    field = _field_of(call, audience)
    del audience.merge_fields[field.tag]
    for member in audience.members.values():
        member.merge.pop(field.tag, None)
    return Reply(204)


def _apply_settings(field: MergeField, body: dict[str, Any]) -> None:
    for name in _SETTABLE:
        if body.get(name) is not None:
            setattr(field, name, body[name])


def _checked_tag(audience: Audience, requested: str | None, name: str, merge_id: int) -> str:
    if requested is None:
        generated = re.sub(r"[^A-Z0-9]", "", name.upper())[:TAG_LIMIT]
        if not generated or generated in audience.merge_fields:
            generated = f"MMERGE{merge_id}"
        return generated
    tag = requested.strip().upper()
    if len(tag) > TAG_LIMIT:
        raise errors.schema_error(
            [{"field": "tag", "message": f"String is too long (maxLength {TAG_LIMIT})"}]
        )
    if not _TAG_CHARS.match(tag):
        raise errors.schema_error([{"field": "tag", "message": "Tags may contain only A-Z, 0-9 and _"}])
    if tag in audience.merge_fields:
        raise errors.invalid_resource(f'A Merge Field with the tag "{tag}" already exists for this list.')
    return tag
