"""``FileTokenStore``: one JSON file per token key, shared by every process of the user.

Layout: ``<user cache dir>/stock-manager/tokens/<key name>.json`` (or ``token_cache_dir``), the
directory 0700 and the files 0600. Each entry is written whole to a temporary file in the same
directory, flushed to disk and renamed over the old one, so a reader sees the old entry or the
new one, never half of one. Issuance is serialised across processes by a ``filelock`` lock file
beside the entry. A damaged or unreadable entry is logged (never its content) and treated as
missing, which costs one issuance instead of a crash.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import platformdirs
from filelock import FileLock, Timeout

from .redaction import logger
from .token_store import DirectLease, KISTokenStoreError, TokenEntry, TokenKey, TokenLease

__all__ = ["FileTokenStore", "default_token_directory"]

_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600
_STALE_TEMPORARY_SECONDS = 60.0


def default_token_directory() -> Path:
    """``<user cache dir>/stock-manager/tokens`` (platformdirs)."""
    return platformdirs.user_cache_path("stock-manager", appauthor=False) / "tokens"


class FileTokenStore:
    """Token entries as files in ``directory`` (default :func:`default_token_directory`).

    ``lock_timeout`` bounds how long :meth:`discard` waits for another process's lock.
    """

    def __init__(self, directory: Path | str | None = None, *, lock_timeout: float = 300.0) -> None:
        self.directory = Path(directory).expanduser() if directory else default_token_directory()
        self.lock_timeout = lock_timeout

    def path_for(self, key: TokenKey) -> Path:
        """The file that holds ``key``'s entry."""
        return self.directory / f"{key.name}.json"

    def load(self, key: TokenKey) -> TokenEntry | None:
        """The entry for ``key``; None if there is none or it cannot be read (a warning)."""
        path = self.path_for(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning(
                "token cache entry %s cannot be read (%s); ignoring it", path, _reason(exc)
            )
            return None
        try:
            entry = TokenEntry.from_json(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            problem = "not valid JSON, perhaps cut short"
        except ValueError as exc:
            problem = str(exc)  # from_json's messages name fields, never values
        else:
            if entry.kind == key.kind:
                return entry
            problem = "it holds another kind of token"
        logger.warning("token cache entry %s is damaged (%s); ignoring it", path, problem)
        return None

    def save(self, key: TokenKey, entry: TokenEntry) -> None:
        """Write ``entry`` atomically (temporary file, fsync, rename), mode 0600."""
        self._ensure_directory()
        path = self.path_for(key)
        data = json.dumps(entry.to_json(), ensure_ascii=False, indent=1).encode("utf-8")
        temporary: str | None = None
        try:
            # mkstemp creates the file 0600, so the token is never readable by others.
            handle, temporary = tempfile.mkstemp(
                dir=self.directory, prefix=f".{key.name}.", suffix=".tmp"
            )
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
            temporary = None
            self._sweep_stale_temporaries(key)
        except OSError as exc:
            raise KISTokenStoreError(
                f"could not write the token cache entry {path} ({_reason(exc)}): "
                "set KIS_TOKEN_CACHE_DIR to a writable directory or KIS_TOKEN_STORE=memory"
            ) from None
        finally:
            if temporary is not None:
                with suppress(OSError):
                    os.unlink(temporary)
        self._sync_directory()

    def _sweep_stale_temporaries(self, key: TokenKey) -> None:
        # A writer killed between mkstemp and rename leaves its temporary file (0600, perhaps
        # holding a token). Old ones are removed; a young one may be another writer's, mid-save.
        cutoff = time.time() - _STALE_TEMPORARY_SECONDS
        for stale in self.directory.glob(f".{key.name}.*.tmp"):
            with suppress(OSError):
                if stale.stat().st_mtime < cutoff:
                    stale.unlink()

    def discard(self, key: TokenKey, value: str) -> bool:
        """Tombstone ``key``'s entry if it still holds ``value`` (under the key's lock)."""
        with self.lock(key, self.lock_timeout):
            entry = self.load(key)
            if entry is None or entry.value != value:
                return False
            self.save(key, entry.tombstone())
            return True

    @contextmanager
    def lock(self, key: TokenKey, timeout: float) -> Iterator[TokenLease]:
        """Hold ``key``'s lock file (``<key name>.lock``) against every other process."""
        self._ensure_directory()
        lock_path = self.directory / f"{key.name}.lock"
        # thread_local=False: the async client takes and releases it from worker threads.
        file_lock = FileLock(
            lock_path, timeout=max(timeout, 0.0), mode=_FILE_MODE, thread_local=False
        )
        try:
            file_lock.acquire()
        except Timeout:
            raise KISTokenStoreError(
                f"another process held the token lock {lock_path} for more than {timeout:g} s"
            ) from None
        except OSError as exc:
            raise KISTokenStoreError(
                f"cannot take the token lock {lock_path} ({_reason(exc)}): set "
                "KIS_TOKEN_CACHE_DIR to a writable directory or KIS_TOKEN_STORE=memory"
            ) from None
        try:
            yield DirectLease(self, key)
        finally:
            file_lock.release()

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
            if stat.S_IMODE(self.directory.stat().st_mode) & 0o077 and os.name == "posix":
                # An existing directory may have been created with the umask's looser mode.
                self.directory.chmod(_DIRECTORY_MODE)
        except OSError as exc:
            raise KISTokenStoreError(
                f"the token cache directory {self.directory} cannot be used ({_reason(exc)}): "
                "set KIS_TOKEN_CACHE_DIR to a writable directory or KIS_TOKEN_STORE=memory"
            ) from None

    def _sync_directory(self) -> None:
        # Makes the rename itself durable; not every platform can open a directory.
        with suppress(OSError):
            descriptor = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.directory)!r})"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
