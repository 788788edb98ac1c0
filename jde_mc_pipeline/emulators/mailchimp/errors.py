"""Mailchimp's error documents (`application/problem+json`, RFC 7807), with the titles and details seen on
the wire (docs/mailchimp.md, Keys, data centers, errors).

Every failure inside a handler is an `ApiError`; the app turns it into a problem document whose
`instance` equals the `X-Request-Id` header, as recorded responses show. Three titles are recorded
*without* a `type` member ("Member Exists", "Member In Compliance State", "Forgotten Email Not
Subscribed"), so `with_type=False` reproduces that shape; a client must not depend on `type`.

Texts nothing public confirms are chosen here and marked [unconfirmed] in the functions' docstrings.
"""

from __future__ import annotations

import uuid
from typing import Any

from jde_mc_pipeline.emulators.http import Response

ERROR_TYPE = "https://mailchimp.com/developer/marketing/docs/errors/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

INVALID_EMAIL = "Please provide a valid email address."
SCHEMA_INVALID = (
    "The resource submitted could not be validated. For field-specific details, see the 'errors' array."
)
MERGE_INVALID = "Your merge fields were invalid."


class ApiError(Exception):
    """An answer other than success, raised by handlers and rendered as a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        with_type: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.with_type = with_type
        self.headers = dict(headers or {})

    def document(self, instance: str) -> dict[str, Any]:
        """The problem document, members in Mailchimp's order."""
        doc: dict[str, Any] = {"type": ERROR_TYPE} if self.with_type else {}
        doc.update(title=self.title, status=self.status, detail=self.detail, instance=instance)
        if self.errors is not None:
            doc["errors"] = self.errors
        return doc


def problem_response(error: ApiError) -> Response:
    """Render an error with a fresh request id shared by `instance` and `X-Request-Id`."""
    instance = str(uuid.uuid4())
    headers = {"X-Request-Id": instance, **error.headers}
    return Response.json(error.status, error.document(instance), PROBLEM_CONTENT_TYPE, headers)


def not_found() -> ApiError:
    return ApiError(404, "Resource Not Found", "The requested resource could not be found.")


def method_not_allowed(allowed: list[str], detail: str | None = None) -> ApiError:
    return ApiError(
        405,
        "Method Not Allowed",
        detail
        or "The requested method and resource are not compatible. "
        "See the Allow header for this resource's available methods.",
        headers={"Allow": ", ".join(allowed)},
    )


def json_parse_error() -> ApiError:
    return ApiError(400, "JSON Parse Exception", "We encountered an unspecified JSON parsing error.")


def schema_error(errors: list[dict[str, str]]) -> ApiError:
    """Schema validation failed (missing required fields, wrong types, enum values)."""
    return ApiError(400, "Invalid Resource", SCHEMA_INVALID, errors=errors)


def invalid_resource(detail: str, errors: list[dict[str, str]] | None = None) -> ApiError:
    return ApiError(400, "Invalid Resource", detail, errors=errors)


def invalid_email() -> ApiError:
    return invalid_resource(INVALID_EMAIL)


def fake_email(email: str) -> ApiError:
    return invalid_resource(f"{email} looks fake or invalid, please enter a real email address.")


def merge_fields_invalid(errors: list[dict[str, str]]) -> ApiError:
    return invalid_resource(MERGE_INVALID, errors)


def member_exists(email: str) -> ApiError:
    return ApiError(
        400,
        "Member Exists",
        f"{email} is already a list member. Use PUT to insert or update list members.",
        with_type=False,
    )


def compliance_state(email: str) -> ApiError:
    return ApiError(
        400,
        "Member In Compliance State",
        f"{email} is in a compliance state due to unsubscribe, bounce, or compliance review "
        "and cannot be subscribed.",
        with_type=False,
    )


def forgotten_email(email: str) -> ApiError:
    return ApiError(
        400,
        "Forgotten Email Not Subscribed",
        f"{email} was permanently deleted and cannot be re-imported. "
        "The contact must re-subscribe to get back on the list.",
        with_type=False,
    )


def bad_request(detail: str) -> ApiError:
    """The generic e-commerce refusal (recorded for duplicate store domains and product ids)."""
    return ApiError(400, "Bad Request", detail)


def customer_not_saved(email: str) -> ApiError:
    return ApiError(
        400, "Customer Was Not Saved", f"{email} is an invalid email address and cannot be imported."
    )


def api_key_invalid() -> ApiError:
    return ApiError(
        401,
        "API Key Invalid",
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
    )


def api_key_missing() -> ApiError:
    """[unconfirmed] title: the glossary names the case APIKeyMissing; its wire title is not recorded."""
    return ApiError(401, "API Key Missing", "Your request did not include an API key.")


def api_key_conflict() -> ApiError:
    return ApiError(
        401,
        "API Key Invalid",
        "The API key included in the query parameters is not consistent with the Authorization header. "
        "Please provide authorization using a single method.",
    )


def too_many_requests(limit: int) -> ApiError:
    """[unconfirmed] title "Too Many Requests" (the detail is the glossary's); no Retry-After is sent."""
    return ApiError(
        429, "Too Many Requests", f"You have exceeded the limit of {limit} simultaneous connections."
    )


def too_many_pending_batches(limit: int) -> ApiError:
    """429 for `POST /batches` past the pending-batches limit (documented as a 429 in Mailchimp's release
    note of 2021-11-16). [unconfirmed] title and detail: the note quotes neither."""
    return ApiError(
        429, "Too Many Requests", f"You have exceeded the limit of {limit} pending batches. Try again later."
    )


def internal_error() -> ApiError:
    return ApiError(
        500,
        "Internal Server Error",
        "A deep, internal error has occurred during the processing of your request. Please contact support.",
    )


def service_unavailable() -> ApiError:
    """[unconfirmed] body: Mailchimp documents no 503 document; this one follows the 500's shape."""
    return ApiError(
        503,
        "Service Unavailable",
        "The service is temporarily unavailable. Please try again later.",
    )
