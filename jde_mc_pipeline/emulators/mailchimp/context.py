"""What a request handler may use of the emulated account: the type of `Call.app`.

Handlers (members, batch subscribe, tags, merge fields, stores, customers, batches) and the member rules
reach the account's state, e-mail rules, batches and link base through `call.app`. `MailchimpApp` (app.py)
provides them; typing `Call.app` as `MailchimpApp` would make every handler import app.py, which imports
every handler through the route table: one import cycle. This protocol names only what the handlers use,
and app.py is the one module that knows both sides.
"""

from __future__ import annotations

from typing import Protocol

from jde_mc_pipeline.emulators.mailchimp.batches import BatchRunner
from jde_mc_pipeline.emulators.mailchimp.state import EmulatorState
from jde_mc_pipeline.emulators.mailchimp.validation import EmailRules


class AppContext(Protocol):
    """The account a handler runs in."""

    state: EmulatorState  # audiences, stores, clock and ids; handlers run under its lock
    email_rules: EmailRules  # syntax and fake-looking addresses
    batches: BatchRunner  # `/batches`: create, enqueue, look up, cancel, sign result URLs
    api_base: str  # `{server_url}/{dc}/3.0`, the base of `_links` hrefs
