"""Calendar tokens are encrypted at rest (Fernet: AES-128-CBC with an HMAC).

Keys come from ``CALENDAR_TOKEN_KEYS`` (comma-separated Fernet keys; the first encrypts, all
decrypt, so a key can be rotated in without losing connections). Without it a key is derived from
``SECRET_KEY``: a leaked database alone then does not reveal tokens, but rotating SECRET_KEY means
consultants reconnect — production sets its own keys."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class TokenUnreadable(Exception):
    """A stored token no key can decrypt (keys rotated out): the consultant must reconnect."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        digest = hashlib.sha256(b"consultio calendar tokens\0" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(digest).decode(),)
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.CALENDAR_TOKEN_KEYS), settings.SECRET_KEY)


def token_encrypt(value: str) -> str:
    return _current().encrypt(value.encode()).decode() if value else ""


def token_decrypt(value: str) -> str:
    if not value:
        return ""
    try:
        return _current().decrypt(value.encode()).decode()
    except InvalidToken as exc:
        raise TokenUnreadable("The stored calendar token cannot be decrypted with the configured keys.") from exc
