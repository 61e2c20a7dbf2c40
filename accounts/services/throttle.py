"""Sign-in throttling, shared by the login form and the token API.

After 5 failed attempts for one account, or 20 from one address, within 15
minutes, further attempts are refused (HTTP 429) for 15 minutes. Counters live
in Redis as sorted sets of attempt times (a sliding window); the lock stores
its own end time, so the rule follows the application's clock.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from core.redis import redis_client as _redis

WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20

def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Lockout:
    retry_after: int

    @property
    def message(self) -> str:
        minutes = max(1, round(self.retry_after / 60))
        return (f"Too many failed sign-in attempts. For your security, sign-in is paused; "
                f"try again in {minutes} minute{'s' if minutes != 1 else ''}.")


def _keys(email: str, address: str) -> tuple[str, str]:
    prefix = f"{settings.REDIS_KEY_PREFIX}:signin"
    # Accounts are per tenant; an address is counted across the whole platform.
    return (f"{prefix}:account:{connection.schema_name}:{email.strip().lower()}",
            f"{prefix}:address:{address}")


def signin_lockout(*, email: str, address: str) -> Lockout | None:
    now = _now()
    pipe = _redis().pipeline()
    for key in _keys(email, address):
        pipe.get(f"{key}:lock")
    locks = [float(value) for value in pipe.execute() if value is not None]
    remaining = max((until - now for until in locks), default=0)
    return Lockout(retry_after=int(remaining) + 1) if remaining > 0 else None


def signin_failure_record(*, email: str, address: str) -> Lockout | None:
    """Count a failed attempt; returns the lockout if this attempt triggered one."""
    now = _now()
    client = _redis()
    account_key, address_key = _keys(email, address)
    pipe = client.pipeline()
    for key in (account_key, address_key):
        pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
        pipe.zremrangebyscore(key, "-inf", now - WINDOW_SECONDS)
        pipe.zcard(key)
        pipe.expire(key, WINDOW_SECONDS + 60)
    results = pipe.execute()
    account_count, address_count = results[2], results[6]
    locked = False
    for key, count, limit in ((account_key, account_count, ACCOUNT_LIMIT),
                              (address_key, address_count, ADDRESS_LIMIT)):
        if count >= limit:
            client.set(f"{key}:lock", now + LOCK_SECONDS, ex=LOCK_SECONDS + 60)
            client.delete(key)
            locked = True
    return Lockout(retry_after=LOCK_SECONDS) if locked else None


def signin_success_record(*, email: str, address: str) -> None:
    account_key, _ = _keys(email, address)
    _redis().delete(account_key)


def request_allowed(*, scope: str, address: str, limit: int, window_seconds: int = WINDOW_SECONDS) -> bool:
    """A plain per-address rate limit (sign-ups, password-reset emails): counts this request and
    says whether it is within ``limit`` per ``window_seconds``."""
    now = _now()
    key = f"{settings.REDIS_KEY_PREFIX}:rate:{scope}:{address}"
    pipe = _redis().pipeline()
    pipe.zremrangebyscore(key, "-inf", now - window_seconds)
    pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
    pipe.zcard(key)
    pipe.expire(key, window_seconds + 60)
    return pipe.execute()[2] <= limit
