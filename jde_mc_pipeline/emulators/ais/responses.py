"""AIS error answers, raised as `AisError` and turned into responses (docs/ais.md, Base URL, versions,
status codes; Paging).

Decisions for [UNCONFIRMED] details:
- Request errors the data service cannot run (unknown table or column, a view, a bad operator or date
  literal, an unsupported outputType) answer **HTTP 400** with a `ServiceErrorResponse` body
  (`message`, `exception`, `status: "ERROR"`, `timeStamp`): a client must fail at once on them
  instead of retrying.
- Injected server faults answer HTTP 500 with the same body shape.
- `timeStamp` uses the older documented form `2018-01-16:15.17.29`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jde_mc_pipeline.emulators.http import Response

JAS_MSG347 = "JAS_MSG347: The query results expired.  Refresh them by clicking Find again."


class AisError(Exception):
    """An error answer: HTTP status plus JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body

    def response(self) -> Response:
        """The HTTP answer."""
        return Response.json(self.status, self.body)


def timestamp(now: datetime) -> str:
    """AIS's `timeStamp` form: `2018-01-16:15.17.29`."""
    return now.strftime("%Y-%m-%d:%H.%M.%S")


def invalid_token(now: datetime) -> AisError:
    """HTTP 444 with the documented JSON body."""
    return AisError(
        444, {"message": "Invalid Token", "exception": "java.lang.Exception", "timeStamp": timestamp(now)}
    )


def authorization_failure(now: datetime, detail: str | None = None) -> AisError:
    """HTTP 403 for bad credentials or a refused environment/role."""
    message = "Authorization Failure" + (f": {detail}" if detail else "")
    return AisError(
        403, {"message": message, "exception": "java.lang.Exception", "timeStamp": timestamp(now)}
    )


def service_error(
    status: int, message: str, now: datetime, exception: str = "java.lang.Exception"
) -> AisError:
    """A `ServiceErrorResponse`."""
    body = {"message": message, "exception": exception, "status": "ERROR", "timeStamp": timestamp(now)}
    return AisError(status, body)


def result_set_expired() -> AisError:
    """HTTP 500 with the JAS_MSG347 `sysErrors` body (two spaces after "expired.")."""
    return AisError(500, {"sysErrors": [{"TITLE": JAS_MSG347, "DESC": JAS_MSG347}]})
