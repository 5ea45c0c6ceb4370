"""Sessions: Basic-auth login, Session tokens, idle expiry, the 64-session cap, roles."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time

from . import errors
from .users import SEC_MODIFY, SEC_VIEW, STO_PROV, STO_VIEW  # noqa: F401 (the routes import them from here)

MAX_SESSIONS = 64
MAX_ISSUED = 100_000
ALIVE_MIN, ALIVE_MAX, ALIVE_DEFAULT = 1, 300, 300


# a role grants itself and the roles listed here
IMPLIES = {SEC_MODIFY: {SEC_VIEW}, STO_PROV: {STO_VIEW}}


def effective_roles(roles):
    out = set(roles)
    for r in roles:
        out |= IMPLIES.get(r, set())
    return out


class Session:
    __slots__ = ("session_id", "token", "user", "alive", "created", "last_access", "ip")

    def __init__(self, session_id, token, user, alive, ip):
        self.session_id = session_id
        self.token = token
        self.user = user
        self.alive = alive
        self.created = time.time()
        self.last_access = time.monotonic()
        self.ip = ip

    def expired(self, now):
        return now - self.last_access > self.alive

    def view(self):
        return {"sessionId": self.session_id, "userId": self.user, "ipAddress": self.ip,
                "createdTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
                "lastAccessTime": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ",
                    time.gmtime(time.time() - (time.monotonic() - self.last_access)))}


class SessionStore:
    """Sessions and the resource locks they hold. Uses the array state's lock."""

    def __init__(self, state):
        self.state = state
        self.sessions = {}  # session_id -> Session
        self.locks = set()  # session ids holding the resource-group lock
        self.next_id = 1
        # every token issued since start (test-only: GET /simulator/v1/issued-tokens), kept across
        # resets so a leak test can look for any of them in its output
        self.issued = []
        # test-only (POST /simulator/v1/expire-sessions {"after_refused_logins": N}): every session
        # ends once N logins have been refused at the session cap, an event, not an idle timeout
        self.expire_after_refusals = None

    def _purge(self):
        now = time.monotonic()
        for sid in [sid for sid, s in self.sessions.items() if s.expired(now)]:
            self._drop(sid)

    def _drop(self, sid):
        self.sessions.pop(sid, None)
        self.locks.discard(sid)

    def count(self):
        with self.state.lock:
            self._purge()
            return len(self.sessions)

    def clear(self):
        with self.state.lock:
            self.sessions.clear()
            self.locks.clear()
            self.expire_after_refusals = None

    def login(self, auth_header, body, ip):
        user = self._basic_user(auth_header)
        alive = ALIVE_DEFAULT
        if body:
            for k in body:
                if k not in ("aliveTime", "authenticationTimeout"):
                    raise errors.unsupported(k)
            if "aliveTime" in body:
                alive = body["aliveTime"]
                if (not isinstance(alive, int) or isinstance(alive, bool)
                        or not ALIVE_MIN <= alive <= ALIVE_MAX):
                    raise errors.invalid("aliveTime", "Specify a value from 1 to 300.")
            tmo = body.get("authenticationTimeout", 120)
            if not isinstance(tmo, int) or isinstance(tmo, bool) or not 1 <= tmo <= 900:
                raise errors.invalid("authenticationTimeout", "Specify a value from 1 to 900.")
        with self.state.lock:
            self._purge()
            if len(self.sessions) >= MAX_SESSIONS:
                self._count_refusal()
                raise errors.busy("The maximum number of sessions (64) has been reached. "
                                  "Wait a while and then run the request again.")
            sid = self.next_id
            self.next_id += 1
            sess = Session(sid, secrets.token_hex(16), user, alive, ip)
            self.sessions[sid] = sess
            self.issued.append(sess.token)
            del self.issued[:-MAX_ISSUED]
            return sess

    def _basic_user(self, header):
        if not header or not header.startswith("Basic "):
            raise errors.unauthorized(basic=True, message="Authentication failed.")
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            name, _, password = raw.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise errors.unauthorized(basic=True, message="Authentication failed.") from None
        with self.state.lock:
            user = self.state.user(name)
        if user is None or not hmac.compare_digest(user["password"].encode(), password.encode()):
            raise errors.unauthorized(basic=True, message="Authentication failed.")
        return name

    def authenticate(self, header, role=None):
        """The session of a ``Session <token>`` header.

        ``role`` (a role name or a tuple of alternatives) is checked: 403 without it.
        """
        if not header or not header.startswith("Session "):
            raise errors.unauthorized()
        token = header[8:].strip()
        with self.state.lock:
            self._purge()
            sess = next((s for s in self.sessions.values()
                         if hmac.compare_digest(s.token.encode(), token.encode())), None)
            if sess is None:
                raise errors.unauthorized()
            sess.last_access = time.monotonic()
            if role is not None:
                user = self.state.user(sess.user)
                roles = effective_roles(user["roles"] if user else [])
                wanted = {role} if isinstance(role, str) else set(role)
                if not wanted & roles:
                    raise errors.forbidden()
            return sess

    def get(self, sid):
        with self.state.lock:
            self._purge()
            return self.sessions.get(sid)

    def logout(self, caller, sid):
        with self.state.lock:
            target = self.sessions.get(sid)
            if target is None:
                raise errors.not_found(f"sessionId = {sid}")
            if target.user != caller.user:
                raise errors.forbidden()
            self._drop(sid)

    def issued_tokens(self):
        with self.state.lock:
            return list(self.issued)

    def _count_refusal(self):
        if self.expire_after_refusals is None:
            return
        self.expire_after_refusals -= 1
        if self.expire_after_refusals <= 0:
            self.expire_after_refusals = None
            self.sessions.clear()
            self.locks.clear()

    def expire_after(self, refused_logins):
        """End every session once ``refused_logins`` logins have been refused at the cap (the
        refused login itself still gets its 503; the next one finds room)."""
        with self.state.lock:
            self.expire_after_refusals = refused_logins

    def expire_all(self):
        with self.state.lock:
            n = len(self.sessions)
            self.sessions.clear()
            self.locks.clear()
            return n
