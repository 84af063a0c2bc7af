"""Issue 12, the file token store hardened (findings D11, D15, D16, D26).

A cache directory that is a symlink or another user's is refused before anything is chmodded or
written; an entry is read only from a regular file of ours, never through a symlink, never
blocking on a FIFO, never past 64 KiB, and a stored token is checked like a fresh one. A damaged
entry costs one issuance, never a crash, and the next call goes through against the sandbox.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reliability_helpers import ConfigFactory

from stock_manager.adapters.broker.kis import KISRestClient, KISTokenStoreError
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    FileTokenStore,
    TokenEntry,
    TokenKey,
)
from stock_manager.sandbox import KISSandbox

KEY = TokenKey(ACCESS_TOKEN, "paper", "http://127.0.0.1:1", "0123456789abcdef")
PRICE = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
STRANGER_UID = 65534  # "nobody"


def stored_json(value: str, token_type: str = "Bearer") -> str:  # noqa: S107 (a scheme name)
    now = datetime.now(UTC)
    return json.dumps(
        {
            "format": 1,
            "kind": ACCESS_TOKEN,
            "token": value,
            "token_type": token_type,
            "expires_at": (now + timedelta(hours=6)).isoformat(),
            "issued_at": now.isoformat(),
        }
    )


def good_entry() -> TokenEntry:
    now = datetime.now(UTC)
    return TokenEntry(ACCESS_TOKEN, now, "token-value-123456", now + timedelta(hours=6))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


# -- D11: the cache directory -----------------------------------------------------------------


def test_a_symlinked_cache_directory_is_refused_and_its_target_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "someone-elses"
    target.mkdir()
    target.chmod(0o755)
    link = tmp_path / "tokens"
    link.symlink_to(target)
    store = FileTokenStore(link)
    with pytest.raises(KISTokenStoreError, match="symbolic link") as caught:
        store.save(KEY, good_entry())
    assert "KIS_TOKEN_CACHE_DIR" in str(caught.value)
    with pytest.raises(KISTokenStoreError, match="symbolic link"), store.lock(KEY, 1):
        pass
    with pytest.raises(KISTokenStoreError, match="symbolic link"):
        store.load(KEY)  # nor is a token planted there ever read
    assert mode(target) == 0o755  # not chmodded through the link
    assert list(target.iterdir()) == []  # no token, no lock file written into it


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown needs root")
def test_a_cache_directory_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "tokens"
    foreign.mkdir(mode=0o777)
    foreign.chmod(0o777)
    os.chown(foreign, STRANGER_UID, STRANGER_UID)
    store = FileTokenStore(foreign)
    with pytest.raises(KISTokenStoreError, match="another user") as caught:
        store.save(KEY, good_entry())
    assert f"uid {STRANGER_UID}" in str(caught.value)
    assert mode(foreign) == 0o777  # refused before any chmod
    assert list(foreign.iterdir()) == []


def test_a_loose_directory_of_ours_is_still_tightened(tmp_path: Path) -> None:
    mine = tmp_path / "tokens"
    mine.mkdir()
    mine.chmod(0o755)
    FileTokenStore(mine).save(KEY, good_entry())
    assert mode(mine) == 0o700


# -- D26: what an entry path may be ------------------------------------------------------------


def test_a_fifo_entry_does_not_hang_load(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = FileTokenStore(tmp_path)
    os.mkfifo(store.path_for(KEY))
    result: list[object] = []
    loader = threading.Thread(target=lambda: result.append(store.load(KEY)), daemon=True)
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        loader.start()
        loader.join(5)
        hung = loader.is_alive()
        if hung:  # the old code blocks in open(): a writer lets it go, so the test ends
            with open(store.path_for(KEY), "wb"):
                pass
            loader.join(5)
    assert not hung, "load() blocked on a FIFO"
    assert result == [None]
    assert "not a regular file" in caplog.text
    saved = good_entry()
    store.save(KEY, saved)  # the next issuance replaces it with a real entry
    assert store.load(KEY) == saved


def test_a_symlink_to_dev_zero_is_refused_without_reading_it(tmp_path: Path) -> None:
    # In a child under a 1 GiB address-space limit and a timeout: the old code read /dev/zero
    # until memory ran out.
    store = FileTokenStore(tmp_path)
    store.path_for(KEY).symlink_to("/dev/zero")
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from stock_manager.adapters.broker.kis.tokens import ACCESS_TOKEN, FileTokenStore, TokenKey
        key = TokenKey(ACCESS_TOKEN, "paper", "http://127.0.0.1:1", "0123456789abcdef")
        print(FileTokenStore({str(tmp_path)!r}).load(key))
        """
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.strip() == "None"
    assert "cannot be read" in child.stderr  # the warning: O_NOFOLLOW refused the link


def test_a_token_file_readable_by_others_is_tightened_to_0600(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, good_entry())
    path = store.path_for(KEY)
    path.chmod(0o644)
    assert store.load(KEY) is not None
    assert mode(path) == 0o600


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="chown needs root")
def test_an_entry_file_of_another_user_is_not_trusted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    store.save(KEY, good_entry())
    os.chown(store.path_for(KEY), STRANGER_UID, STRANGER_UID)
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        assert store.load(KEY) is None
    assert "owned by another user" in caplog.text


# -- D15 / D16: what an entry may hold ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (stored_json("abc\r\nX-Injected: 1"), "not a credential"),
        (stored_json("two words"), "not a credential"),
        (stored_json("x" * 5000), "not a credential"),
        (stored_json("token-value", token_type="Bearer\r\nX: 1"), "token_type"),
        ("[" * 60_000, "nested too deeply"),  # under the size cap: json recurses
        ("[" * 200_000, "larger than 65536 bytes"),  # the review's entry: never parsed
        ('{"format": 1, "pad": "' + "x" * 70_000 + '"}', "larger than 65536 bytes"),
    ],
    ids=["crlf", "space", "too-long", "crlf-type", "deep-nesting", "deep-and-huge", "huge"],
)
def test_a_damaged_entry_is_a_warning_and_no_entry(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, problem: str
) -> None:
    store = FileTokenStore(tmp_path)
    store.path_for(KEY).write_text(content)
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        assert store.load(KEY) is None  # no RecursionError, no token with a line break
    assert "is damaged" in caplog.text
    assert problem in caplog.text
    assert "X-Injected" not in caplog.text and "two words" not in caplog.text


def test_a_stored_token_with_a_line_break_costs_one_issuance_not_every_call(
    rel_sandbox: KISSandbox, rel_config: ConfigFactory, tmp_path: Path
) -> None:
    config = rel_config(rel_sandbox, token_store="file", token_cache_dir=tmp_path / "cache")
    store = FileTokenStore(config.token_cache_dir)
    key = TokenKey.for_config(config, ACCESS_TOKEN)
    store.save(key, good_entry())  # creates the directory as the store wants it
    store.path_for(key).write_text(stored_json("abc\r\ndef"))
    issued_before = rel_sandbox.stats()["tokens_issued"]
    with KISRestClient(config) as client:
        for _ in range(3):
            assert client.make_request("GET", api_id="inquire-price", params=PRICE)["rt_cd"] == "0"
    assert rel_sandbox.stats()["tokens_issued"] == issued_before + 1
    reloaded = store.load(key)
    assert reloaded is not None and reloaded.value != "abc\r\ndef"
