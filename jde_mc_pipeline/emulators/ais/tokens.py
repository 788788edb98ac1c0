"""AIS sessions: tokens issued by `tokenrequest`, bound to a device, expiring when idle or at logout.

docs/ais.md, Tokens and sessions. Decisions for [UNCONFIRMED] details:
- Tokens look like real ones (`044` + base64 with `+`, `/` and `=` always present), so a client that
  forgets to URL-encode them in a query string fails here as it would against AIS.
- A token requested with a `deviceName` is bound to it; without one, to the caller's IP address.
  The data service requires the bound device on every call (a missing one is a mismatch). `validate`,
  `logout` and `dataservice/next` (whose documented `href` carries no device) accept a missing device
  but refuse a different one.
- Idle expiry uses the emulator's clock: a token unused for more than `ttl` seconds is gone. Every
  accepted call touches it, except `validate` without `touch: true`.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


class InvalidToken(Exception):  # noqa: N818 - named after the AIS message it produces
    """The token is unknown, expired, logged out or used from another device (HTTP 444)."""


@dataclass
class Session:
    """One AIS session behind a token."""

    token: str
    username: str
    environment: str
    role: str
    device: str | None
    address: str
    cookie: str
    last_used: datetime


class TokenRegistry:
    """Issued tokens, thread-safe; `clock` decides idle expiry."""

    def __init__(self, clock: Callable[[], datetime], ttl: float) -> None:
        self._clock = clock
        self.ttl = ttl
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def issue(self, username: str, environment: str, role: str, device: str | None, address: str) -> Session:
        """A new session and its token."""
        token = _new_token()
        session = Session(
            token=token,
            username=username,
            environment=environment,
            role=role,
            device=device or None,
            address=address,
            cookie=secrets.token_hex(16).upper(),
            last_used=self._clock(),
        )
        with self._lock:
            self._sessions[token] = session
        return session

    def check(
        self,
        token: str | None,
        device: str | None,
        address: str,
        *,
        device_required: bool,
        touch: bool = True,
    ) -> Session:
        """The live session of `token` as used from `device`/`address`; raises InvalidToken."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token or "")
            if session is None:
                raise InvalidToken("unknown token")
            if (now - session.last_used).total_seconds() > self.ttl:
                del self._sessions[session.token]
                raise InvalidToken("token expired")
            if session.device is None:
                if session.address != address:
                    raise InvalidToken("token bound to another address")
            elif device != session.device and (device or device_required):
                raise InvalidToken("token bound to another device")
            if touch:
                session.last_used = now
            return session

    def logout(self, session: Session) -> None:
        """End a session."""
        with self._lock:
            self._sessions.pop(session.token, None)

    def revoke(self, token: str) -> bool:
        """Drop one token as if the server had lost its session; True if it existed."""
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def expire_all(self) -> int:
        """Drop every token (the control endpoint); returns how many there were."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count

    def active(self) -> int:
        """Tokens not yet expired."""
        now = self._clock()
        with self._lock:
            return sum((now - s.last_used).total_seconds() <= self.ttl for s in self._sessions.values())


def _new_token() -> str:
    """`044` + base64 of random bytes with `+`, `/` and `=` in it, like `044kbw…=MDE4MDA2…`."""
    body = base64.b64encode(secrets.token_bytes(48)).decode("ascii")
    tail = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
    return f"044{body[:20]}+{body[20:40]}/{body[40:]}={tail}"
