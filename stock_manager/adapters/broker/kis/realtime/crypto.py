"""AES-256-CBC decryption of the fill and order notices.

KIS encrypts the notice TRs' payloads (base64 of AES-256-CBC with PKCS7 padding). The key and IV
are the 32 and 16 characters of ``output.key``/``output.iv`` in that session's SUBSCRIBE SUCCESS
reply, per TR; a new session brings new ones. Neither ever appears in a repr or a message.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import KISNoticeDecryptError

__all__ = ["IV_LENGTH", "KEY_LENGTH", "NoticeCipher"]

KEY_LENGTH = 32
IV_LENGTH = 16


class NoticeCipher:
    """The AES key and IV of one TR in one session; :meth:`decrypt` turns a payload into text."""

    __slots__ = ("_iv", "_key", "tr_id")

    def __init__(self, tr_id: str, key: str, iv: str) -> None:
        key_bytes, iv_bytes = key.encode("utf-8"), iv.encode("utf-8")
        if len(key_bytes) != KEY_LENGTH or len(iv_bytes) != IV_LENGTH:
            # Lengths only: the values are secrets.
            raise KISNoticeDecryptError(
                f"KIS sent an AES key of {len(key_bytes)} bytes and an IV of {len(iv_bytes)} "
                f"for {tr_id} (expected {KEY_LENGTH} and {IV_LENGTH})"
            )
        self.tr_id = tr_id
        self._key = key_bytes
        self._iv = iv_bytes

    def __repr__(self) -> str:
        return f"NoticeCipher({self.tr_id}, key=***, iv=***)"

    def decrypt(self, payload: str) -> str:
        """The plaintext of a base64 payload (UTF-8, decoded leniently: Korean names inside)."""
        try:
            data = base64.b64decode(payload.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KISNoticeDecryptError(
                f"an encrypted {self.tr_id} notice is not base64 ({len(payload)} characters)"
            ) from None
        if not data or len(data) % 16:
            raise KISNoticeDecryptError(
                f"an encrypted {self.tr_id} notice has {len(data)} bytes, not whole AES blocks"
            )
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            # Bad padding: the key is not this notice's (an old session's, or another TR's).
            raise KISNoticeDecryptError(
                f"an encrypted {self.tr_id} notice does not decrypt with this session's key"
            ) from None
        return plain.decode("utf-8", errors="replace")
