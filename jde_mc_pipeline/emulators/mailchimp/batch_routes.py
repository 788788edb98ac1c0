"""`/batches` handlers: start, read, list and cancel batches; `batches.py` runs them (and says how,
including the pending-batches limit and which operations their `params` apply to).

The handlers reach the runner as `call.app.batches`.
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.emulators.mailchimp import errors
from jde_mc_pipeline.emulators.mailchimp.batches import Batch
from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.views import check_enum, links, page, require_fields

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def batch_view(call: Call, batch: Batch) -> dict[str, Any]:
    finished = batch.status == "finished"
    return {
        "id": batch.id,
        "status": batch.status,
        "total_operations": batch.total_operations,
        "finished_operations": batch.finished_operations,
        "errored_operations": batch.errored_operations,
        "submitted_at": batch.submitted_at,
        "completed_at": batch.completed_at,
        "response_body_url": call.app.batches.signed_url(batch) if finished else "",
        "_links": links(
            call,
            "/batches",
            ("parent", "GET", ""),
            ("self", "GET", f"/{batch.id}"),
            ("delete", "DELETE", f"/{batch.id}"),
        ),
    }


def start_batch(call: Call) -> Reply:
    body = call.json_object()
    require_fields(body, ("operations",))
    operations = body["operations"]
    if not isinstance(operations, list):
        raise errors.schema_error([{"field": "operations", "message": "Schema describes array"}])
    problems = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            problems.append({"field": f"operations.{index}", "message": "Schema describes object"})
            continue
        try:
            check_enum(operation, "method", METHODS)
            require_fields(operation, ("method", "path"))
        except errors.ApiError as error:
            problems.extend(
                {"field": f"operations.{index}", "message": e["message"]} for e in error.errors or []
            )
            continue
        if not isinstance(operation["path"], str):
            problems.append({"field": f"operations.{index}.path", "message": "Schema describes string"})
        if operation.get("params") is not None and not isinstance(operation["params"], dict):
            problems.append({"field": f"operations.{index}.params", "message": "Schema describes object"})
    if problems:
        raise errors.schema_error(problems)
    batch = call.app.batches.create(operations)
    document = batch_view(call, batch)
    call.app.batches.enqueue(batch)
    return Reply(200, document)


def get_batch(call: Call) -> Reply:
    batch = call.app.batches.batches.get(call.params["batch_id"])
    if batch is None:
        raise errors.not_found()
    return Reply(200, batch_view(call, batch))


def list_batches(call: Call) -> Reply:
    count, offset = call.paging()
    batches = list(call.app.batches.batches.values())
    return Reply(
        200,
        {
            "batches": [batch_view(call, b) for b in page(batches, count, offset)],
            "total_items": len(batches),
            "_links": links(call, "/batches", ("self", "GET", ""), ("create", "POST", "")),
        },
    )


def delete_batch(call: Call) -> Reply:
    if not call.app.batches.cancel(call.params["batch_id"]):
        raise errors.not_found()
    return Reply(204)
