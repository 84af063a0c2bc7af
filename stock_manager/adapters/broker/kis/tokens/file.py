"""``FileTokenStore``: one JSON file per token key, shared by every process of the user.

Layout: ``<user cache dir>/stock-manager/tokens/<key name>.json`` (or ``token_cache_dir``), the
directory 0700 and the files 0600. The directory must be the user's own and not a symlink (else
:class:`~..errors.KISTokenStoreError`); an entry is read only from a regular file, never through
a symlink, and never past 64 KiB. Each entry is written whole to a temporary file in the same
directory, flushed to disk and renamed over the old one, so a reader sees the old entry or the
new one, never half of one. Issuance is serialised across processes by a ``filelock`` lock file
beside the entry. A damaged or unreadable entry is logged (never its content) and treated as
missing, which costs one issuance instead of a crash.
"""

from __future__ import annotations

import errno
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

from ..errors import KISTokenStoreError
from ..redaction import logger
from .store import (
    MAX_ENTRY_BYTES,
    DirectLease,
    TokenEntry,
    TokenKey,
    TokenLease,
    decode_entry,
)

__all__ = ["FileTokenStore", "default_token_directory"]

_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600
_POSIX = os.name == "posix"
# Flags Windows lacks are 0 there; it has no symlinked cache directories to worry about.
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | _NO_FOLLOW | getattr(os, "O_NONBLOCK", 0)
_OPEN_DIRECTORY = os.O_RDONLY | _NO_FOLLOW | getattr(os, "O_DIRECTORY", 0)
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
        """The entry for ``key``; None if there is none or it cannot be read (a warning).

        :class:`KISTokenStoreError` if the directory is not one this user may trust.
        """
        path = self.path_for(key)
        try:
            raw = self._read_entry(path)
        except FileNotFoundError:
            return None
        except ValueError as exc:
            problem = str(exc)
        except OSError as exc:  # a symlink (ELOOP), no permission, ...
            logger.warning(
                "token cache entry %s cannot be read (%s); ignoring it", path, _reason(exc)
            )
            return None
        else:
            try:
                return decode_entry(raw, key.kind)
            except ValueError as exc:
                problem = str(exc)  # decode_entry's messages name fields, never values
        logger.warning("token cache entry %s is damaged (%s); ignoring it", path, problem)
        return None

    def _read_entry(self, path: Path) -> bytes:
        """The bytes of a regular file of ours, at most one byte past the size cap.

        Never follows a symlink (one to /dev/zero would never end), never blocks on a FIFO,
        and tightens a file left readable by others to 0600.
        """
        with self._checked_directory() as directory:
            descriptor = os.open(path if directory is None else path.name, _READ, dir_fd=directory)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                raise ValueError("not a regular file")
            if _POSIX and status.st_uid != os.geteuid():
                raise ValueError("owned by another user")
            if status.st_size > MAX_ENTRY_BYTES:
                raise ValueError(f"larger than {MAX_ENTRY_BYTES} bytes")
            if _POSIX and stat.S_IMODE(status.st_mode) & 0o077:
                os.fchmod(descriptor, _FILE_MODE)  # written by hand, or by an old version
            return _read_at_most(descriptor, MAX_ENTRY_BYTES + 1)
        finally:
            os.close(descriptor)

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
            with self._checked_directory():
                pass
        except OSError as exc:
            raise KISTokenStoreError(
                f"the token cache directory {self.directory} cannot be used ({_reason(exc)}): "
                "set KIS_TOKEN_CACHE_DIR to a writable directory or KIS_TOKEN_STORE=memory"
            ) from None

    @contextmanager
    def _checked_directory(self) -> Iterator[int | None]:
        """The cache directory, opened without following a symlink, checked to be a directory
        this user owns and then tightened to 0700; its descriptor (None off POSIX).

        A symlinked or foreign directory is refused: whoever controls it could read the
        tokens written there, plant one, or have us chmod their files.
        """
        if not _POSIX:
            yield None
            return
        try:
            descriptor = os.open(self.directory, _OPEN_DIRECTORY)
        except FileNotFoundError:
            raise
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise KISTokenStoreError(
                    f"the token cache directory {self.directory} is a symbolic link or not a "
                    "directory, which the file store does not follow: set KIS_TOKEN_CACHE_DIR "
                    "to a real directory of your own, or KIS_TOKEN_STORE=memory"
                ) from None
            raise
        try:
            status = os.fstat(descriptor)
            if status.st_uid != os.geteuid():
                raise KISTokenStoreError(
                    f"the token cache directory {self.directory} belongs to another user "
                    f"(uid {status.st_uid}): set KIS_TOKEN_CACHE_DIR to a directory of your "
                    "own, or KIS_TOKEN_STORE=memory"
                )
            if stat.S_IMODE(status.st_mode) & 0o077:
                # Created with the umask's looser mode; tightened only now that it is ours.
                os.fchmod(descriptor, _DIRECTORY_MODE)
            yield descriptor
        finally:
            os.close(descriptor)

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


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(descriptor, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
