"""TokenKey, TokenEntry and the memory and file stores, without a network."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError, KISTokenStoreError
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    APPROVAL_KEY,
    FileTokenStore,
    MemoryTokenStore,
    TokenEntry,
    TokenKey,
    TokenStore,
    default_token_directory,
    make_token_store,
)

APP_KEY = "PSabcdefghijklmnopqrstuvwxyz01234567"
SECRET = "s3cr3t" * 30
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def config(**overrides: object) -> KISConfig:
    values: dict[str, object] = {"kis_app_key": APP_KEY, "kis_app_secret": SECRET}
    values.update(overrides)
    return KISConfig(_env_file=None, **values)  # type: ignore[arg-type]


def entry(value: str | None = "token-value-123456", kind: str = ACCESS_TOKEN) -> TokenEntry:
    expires = NOW + timedelta(hours=24) if value else None
    return TokenEntry(kind, NOW, value, expires)  # type: ignore[arg-type]


KEY = TokenKey.for_config(config(), ACCESS_TOKEN)


# -- keys and entries --------------------------------------------------------------------------


def test_keys_tell_environment_domain_app_key_and_kind_apart() -> None:
    keys = {
        TokenKey.for_config(config(), ACCESS_TOKEN),
        TokenKey.for_config(config(), APPROVAL_KEY),
        TokenKey.for_config(config(environment="real"), ACCESS_TOKEN),
        TokenKey.for_config(config(base_url="http://127.0.0.1:9999"), ACCESS_TOKEN),
        TokenKey.for_config(config(kis_app_key="X" * 36), ACCESS_TOKEN),
    }
    names = {key.name for key in keys}
    assert len(names) == 5
    for name in names:
        assert APP_KEY not in name
        assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert KEY.app_key_fingerprint == config().app_key_fingerprint
    assert KEY.name.startswith(f"paper-access-token-{config().app_key_fingerprint}-")


def test_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        TokenKey("refresh_token", "paper", "", "abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="environment"):
        TokenKey(ACCESS_TOKEN, "../etc", "", "abc")
    with pytest.raises(ValueError, match="fingerprint"):
        TokenKey(ACCESS_TOKEN, "paper", "", "")


def test_entries_round_trip_and_hide_their_value() -> None:
    original = entry("the-token-value-42")
    assert "the-token-value-42" not in repr(original)
    data = json.loads(json.dumps(original.to_json()))
    assert TokenEntry.from_json(data) == original
    grave = original.tombstone()
    assert grave.is_tombstone and grave.issued_at == original.issued_at
    assert TokenEntry.from_json(grave.to_json()) == grave


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"format": 2},
        {"format": 1, "kind": "other"},
        {"format": 1, "kind": "access_token", "token": 5, "token_type": "Bearer"},
        {"format": 1, "kind": "access_token", "token": None, "token_type": "Bearer"},
        {
            "format": 1,
            "kind": "access_token",
            "token": "x-secret-x",
            "token_type": "Bearer",
            "issued_at": "2030-01-01T00:00:00",  # no offset
            "expires_at": "2030-01-02T00:00:00+00:00",
        },
    ],
)
def test_damaged_entries_are_refused_without_echoing_them(data: object) -> None:
    with pytest.raises(ValueError) as caught:
        TokenEntry.from_json(data)
    assert "x-secret-x" not in str(caught.value)


def test_config_knobs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_TOKEN_ISSUE_INTERVAL", "1.5")
    monkeypatch.setenv("KIS_TOKEN_STORE", "memory")
    loaded = KISConfig(_env_file=None)
    assert loaded.token_issue_interval == 1.5
    assert isinstance(make_token_store(loaded), MemoryTokenStore)
    monkeypatch.setenv("KIS_TOKEN_ISSUE_INTERVAL", "-1")
    with pytest.raises(KISConfigError, match="KIS_TOKEN_ISSUE_INTERVAL"):
        KISConfig(_env_file=None)


def test_factory_and_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    store = make_token_store(config(token_cache_dir=tmp_path / "here"))
    assert isinstance(store, FileTokenStore)
    assert store.directory == tmp_path / "here"
    assert not store.directory.exists()  # made on first use, not by the factory
    monkeypatch.delenv("KIS_TOKEN_CACHE_DIR")
    default = make_token_store(config())
    assert isinstance(default, FileTokenStore)
    assert default.directory == default_token_directory()
    assert default.directory.parts[-2:] == ("stock-manager", "tokens")


# -- both stores -------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    if request.param == "memory":
        return MemoryTokenStore()
    return FileTokenStore(tmp_path / "tokens", lock_timeout=5)


def test_load_save_and_compare_and_delete(store: TokenStore) -> None:
    assert store.load(KEY) is None
    store.save(KEY, entry("first-token-value"))
    assert store.load(KEY) == entry("first-token-value")
    assert not store.discard(KEY, "some-other-token")
    assert store.load(KEY) == entry("first-token-value")
    assert store.discard(KEY, "first-token-value")
    grave = store.load(KEY)
    assert grave is not None and grave.is_tombstone and grave.issued_at == NOW
    assert not store.discard(KEY, "first-token-value")
    other = TokenKey.for_config(config(), APPROVAL_KEY)
    assert store.load(other) is None


def test_lease_saves_and_the_lock_excludes_other_threads(store: TokenStore) -> None:
    with store.lock(KEY, timeout=1) as lease:
        assert lease.save(entry("leased-token-value"))
        outcome: list[object] = []

        def contender() -> None:
            try:
                with store.lock(KEY, timeout=0.2):
                    outcome.append("got it")
            except KISTokenStoreError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=contender)
        thread.start()
        thread.join(5)
        assert len(outcome) == 1 and isinstance(outcome[0], KISTokenStoreError)
    assert store.load(KEY) == entry("leased-token-value")
    with store.lock(KEY, timeout=0.2):  # released: free again
        pass


# -- the file store ----------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_file_modes_and_contents(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)  # as a loose umask would leave it
    store = FileTokenStore(directory)
    with store.lock(KEY, timeout=1) as lease:
        lease.save(entry("file-token-value"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(path.name for path in directory.iterdir())
    assert files == [f"{KEY.name}.json", f"{KEY.name}.lock"]  # no temporary file left behind
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        content = path.read_text()
        assert SECRET not in content and APP_KEY not in content
    stored = json.loads(store.path_for(KEY).read_text())
    assert stored["token"] == "file-token-value"
    assert stored["kind"] == "access_token"


def test_stale_temporaries_of_killed_writers_are_swept(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    stale = tmp_path / f".{KEY.name}.killedwriter.tmp"
    young = tmp_path / f".{KEY.name}.otherwriter.tmp"  # perhaps another writer, mid-save
    for leftover in (stale, young):
        leftover.write_text('{"token": "half-writ')
    long_ago = time.time() - 3600
    os.utime(stale, (long_ago, long_ago))
    store.save(KEY, entry("fresh-token-value"))
    assert not stale.exists()
    assert young.exists()
    assert store.load(KEY) == entry("fresh-token-value")


def test_whitespace_around_secrets_is_dropped() -> None:
    settings = config(kis_app_secret=SECRET + "\n", kis_app_key=" " + APP_KEY + "\n")
    assert settings.app_secret == SECRET
    assert settings.app_key == APP_KEY


@pytest.mark.parametrize(
    "damage",
    [
        b'{"format": 1, "kind": "access_token", "token": "cut-short-sec',
        b"\x00\xffgarbage-secret-bytes",
        b'["not", "an", "entry", "secret-ish"]',
        b'{"format": 1, "kind": "approval_key", "token": "wrong-kind-secret", '
        b'"token_type": "Bearer", "issued_at": "2030-01-01T00:00:00+00:00", '
        b'"expires_at": "2030-01-02T00:00:00+00:00"}',
    ],
)
def test_a_damaged_file_is_a_warning_and_no_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: bytes
) -> None:
    store = FileTokenStore(tmp_path)
    store.path_for(KEY).write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        assert store.load(KEY) is None
    assert "damaged" in caplog.text
    assert "secret" not in caplog.text


def test_an_unreadable_entry_is_a_warning_and_no_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    store.path_for(KEY).mkdir()  # reading it fails whoever we are (even root)
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        assert store.load(KEY) is None
    assert "not a regular file" in caplog.text
    with pytest.raises(KISTokenStoreError, match="could not write"):
        store.save(KEY, entry())
    assert [path.name for path in tmp_path.iterdir()] == [store.path_for(KEY).name]


def test_an_unusable_directory_is_a_typed_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = FileTokenStore(blocker / "tokens")
    with pytest.raises(KISTokenStoreError, match="KIS_TOKEN_CACHE_DIR"):
        store.save(KEY, entry())
    with pytest.raises(KISTokenStoreError, match="KIS_TOKEN_STORE=memory"), store.lock(KEY, 1):
        pass


_HOLD_LOCK = """
import sys, time
from filelock import FileLock
lock = FileLock(sys.argv[1])
with lock:
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_the_file_lock_excludes_another_process(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    with store.lock(KEY, timeout=1):  # creates the directory and lock file
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path / f"{KEY.name}.lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(KISTokenStoreError, match="another process"), store.lock(KEY, 0.3):
            pass
        assert time.monotonic() - started >= 0.3
        # compare-and-delete waits for the lock too, and goes through once it is released
        store.save(KEY, entry("shared-token-value"))
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert store.discard(KEY, "shared-token-value")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(10)
