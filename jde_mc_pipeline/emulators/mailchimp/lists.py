"""`GET /ping`, `GET /lists`, `GET /lists/{list_id}` (docs/mailchimp.md, Keys, data centers, errors;
list schema of the spec).

List statistics come from the per-status counters kept by the state, never from a scan of members.
"""

from __future__ import annotations

from typing import Any

from jde_mc_pipeline.emulators.mailchimp.routing import Call, Reply
from jde_mc_pipeline.emulators.mailchimp.state import Audience
from jde_mc_pipeline.emulators.mailchimp.views import audience_of, links, page


def ping(call: Call) -> Reply:
    return Reply(200, {"health_status": "Everything's Chimpy!"})


def list_view(call: Call, audience: Audience) -> dict[str, Any]:
    counts = audience.status_counts
    return {
        "id": audience.id,
        "web_id": audience.web_id,
        "name": audience.name,
        "contact": {
            "company": "JDE MC Pipeline",
            "address1": "1 Emulator Way",
            "address2": "",
            "city": "Denver",
            "state": "CO",
            "zip": "80202",
            "country": "US",
            "phone": "",
        },
        "permission_reminder": "You are receiving this e-mail because you are a customer of ours.",
        "use_archive_bar": False,
        "campaign_defaults": {
            "from_name": "JDE MC",
            "from_email": "marketing@jde-mc.invalid",
            "subject": "",
            "language": "en",
        },
        "notify_on_subscribe": "",
        "notify_on_unsubscribe": "",
        "date_created": audience.date_created,
        "list_rating": 0,
        "email_type_option": False,
        "subscribe_url_short": "",
        "subscribe_url_long": "",
        "beamer_address": "",
        "visibility": "prv",
        "double_optin": False,
        "has_welcome": False,
        "marketing_permissions": False,
        "modules": [],
        "stats": {
            "member_count": counts["subscribed"],
            "total_contacts": sum(counts.values()),
            "unsubscribe_count": counts["unsubscribed"],
            "cleaned_count": counts["cleaned"],
            "member_count_since_send": counts["subscribed"],
            "unsubscribe_count_since_send": counts["unsubscribed"],
            "cleaned_count_since_send": counts["cleaned"],
            "campaign_count": 0,
            "campaign_last_sent": "",
            "merge_field_count": len(audience.merge_fields),
            "avg_sub_rate": 0,
            "avg_unsub_rate": 0,
            "target_sub_rate": 0,
            "open_rate": 0,
            "click_rate": 0,
            "last_sub_date": "",
            "last_unsub_date": "",
        },
        "_links": links(
            call,
            f"/lists/{audience.id}",
            ("self", "GET", ""),
            ("parent", "GET", ""),
            ("members", "GET", "/members"),
            ("merge-fields", "GET", "/merge-fields"),
            ("batch-sub-unsub-members", "POST", ""),
        ),
    }


def get_lists(call: Call) -> Reply:
    count, offset = call.paging()
    audiences = list(call.app.state.lists.values())
    return Reply(
        200,
        {
            "lists": [list_view(call, a) for a in page(audiences, count, offset)],
            "total_items": len(audiences),
            "constraints": {
                "may_create": False,
                "max_instances": len(audiences),
                "current_total_instances": len(audiences),
            },
            "_links": links(call, "/lists", ("self", "GET", "")),
        },
    )


def get_list(call: Call) -> Reply:
    return Reply(200, list_view(call, audience_of(call)))
