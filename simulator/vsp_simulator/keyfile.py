"""The encryption key backup file: password-encrypted, opaque binary.

Layout: MAGIC (8 bytes) | salt (16) | check (32) | nonce (12) | AES-256-GCM(ciphertext + tag).
PBKDF2-HMAC-SHA256(password, salt, ITERATIONS) gives 64 bytes: the AES key and a check key;
``check`` = HMAC-SHA256(check key, MAGIC | salt) tells a wrong password from a damaged file.
MAGIC, salt and check are authenticated data of the GCM encryption.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

MAGIC = b"VSPEKF\x00\x01"
ITERATIONS = 100_000
HEADER = len(MAGIC) + 16 + 32 + 12
PASSWORD_SYMBOLS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"  # noqa: S105 (a charset)


class KeyFileError(ValueError):
    """Base of the errors reading a key file."""


class DamagedFile(KeyFileError):
    pass


class WrongPassword(KeyFileError):
    pass


def password_ok(password):
    """6-255 characters: alphanumerics and the documented symbols (no space)."""
    if not isinstance(password, str) or not 6 <= len(password) <= 255:
        return False
    return all((c.isascii() and c.isalnum()) or c in PASSWORD_SYMBOLS for c in password)


def _derive(password, salt):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=64, salt=salt, iterations=ITERATIONS)
    raw = kdf.derive(password.encode("utf-8"))
    key, check_key = raw[:32], raw[32:]
    return key, hmac.new(check_key, MAGIC + salt, hashlib.sha256).digest()


def seal(payload, password):
    salt, nonce = os.urandom(16), os.urandom(12)
    key, check = _derive(password, salt)
    plain = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    aad = MAGIC + salt + check
    return aad + nonce + AESGCM(key).encrypt(nonce, plain, aad)


def open_file(blob, password):
    """The payload of a key file; raises DamagedFile or WrongPassword."""
    if not isinstance(blob, bytes | bytearray) or len(blob) <= HEADER + 16:
        raise DamagedFile("the file is too short")
    if not blob.startswith(MAGIC):
        raise DamagedFile("the file is not an encryption key backup file")
    blob = bytes(blob)
    m = len(MAGIC)
    salt, stored_check, nonce = blob[m:m + 16], blob[m + 16:m + 48], blob[m + 48:HEADER]
    key, check = _derive(password, salt)
    if not hmac.compare_digest(check, stored_check):
        raise WrongPassword("the password is wrong")
    try:
        plain = AESGCM(key).decrypt(nonce, blob[HEADER:], blob[:m + 48])
    except InvalidTag:
        raise DamagedFile("the file content is damaged") from None
    try:
        payload = json.loads(plain)
        if not isinstance(payload.get("keys"), list):
            raise ValueError("no keys")
    except ValueError:
        raise DamagedFile("the file content is damaged") from None
    return payload
