"""The two keys that keep anonymous questions anonymous, both derived from SECRET_KEY.

- The asker hash, HMAC(key, account salt + address): lets an asker list their anonymous
  questions. The salt lives on the account; when the account is deleted nothing can compute
  the hash again, so the questions can no longer be linked to anyone.
- The reply handle, the address sealed with AES-GCM: only delivery opens it, to bring the
  answer back. A random nonce, and no timestamp inside (unlike Fernet), so the handle says
  nothing about when it was made.

It also seals the choices last shown to a person on a channel whose buttons send back text
(Zalo): button data names tickets, so what each label and number means is kept sealed, bound
to the person so that a sealed value cannot be moved to someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.core.messages import Address

_HANDLE_AAD = b"doithoai reply handle v1"
_CHOICES_AAD = b"doithoai shown choices v1"


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Sealer:
    def __init__(self, secret_key: str):
        secret = secret_key.encode()
        self._hash_key = _derive(secret, b"doithoai asker hash")
        self._aead = AESGCM(_derive(secret, b"doithoai reply handle"))
        self._key_key = _derive(secret, b"doithoai message key")
        self._choices = AESGCM(_derive(secret, b"doithoai shown choices"))

    def asker_hash(self, salt: bytes, address: Address) -> str:
        message = salt + f"{address.channel}\x00{address.user_id}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def message_key(self, event: str, address: Address) -> str:
        """A permanent outbox key for one piece of news to one person that names neither the
        question nor the person: the same inputs give the same key, so it is sent once."""
        message = f"{event}\x00{address.channel}\x00{address.user_id}".encode()
        return hmac.new(self._key_key, message, hashlib.sha256).hexdigest()[:40]

    def seal(self, address: Address) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps([address.channel, address.user_id]).encode()
        return nonce + self._aead.encrypt(nonce, plain, _HANDLE_AAD)

    def open(self, handle: bytes) -> Address:
        try:
            channel, user_id = json.loads(self._aead.decrypt(handle[:12], handle[12:], _HANDLE_AAD))
        except (InvalidTag, ValueError) as exc:
            raise ValueError("reply handle does not open with this SECRET_KEY") from exc
        return Address(channel, user_id)

    def seal_choices(self, user_id: str, choices: dict[str, Any]) -> bytes:
        """The choices shown to one person, sealed and bound to their id."""
        nonce = os.urandom(12)
        plain = json.dumps(choices, ensure_ascii=False).encode()
        return nonce + self._choices.encrypt(nonce, plain, _CHOICES_AAD + user_id.encode())

    def open_choices(self, user_id: str, sealed: bytes) -> dict[str, Any] | None:
        """The choices sealed for this person; None if they do not open (another person's,
        or sealed under another SECRET_KEY: as if nothing had been shown)."""
        try:
            data = self._choices.decrypt(sealed[:12], sealed[12:], _CHOICES_AAD + user_id.encode())
            choices = json.loads(data)
        except (InvalidTag, ValueError):
            return None
        return choices if isinstance(choices, dict) else None
