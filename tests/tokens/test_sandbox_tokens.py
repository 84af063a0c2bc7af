"""The token lifecycle of KISRestClient against the sandbox over loopback.

Counting with ``sb.stats()["tokens_issued"]`` (successful tokenP answers) and the requests per
path. The sandbox's issue interval is 1 s (0 where the interval is not the subject), and the
client's ``token_issue_interval`` matches it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from pathlib import Path

import pytest
from token_helpers import PRICE, PRICE_PATH, TOKEN_PATH, SandboxFactory, TokenConfig, cache_files

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient, KISTokenIssueThrottledError
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    APPROVAL_KEY,
    FileTokenStore,
    MemoryTokenStore,
    TokenKey,
)


def price(client: KISRestClient) -> None:
    assert client.make_request("GET", api_id="inquire-price", params=PRICE)["rt_cd"] == "0"


def entry_path(config: KISConfig, kind: str = ACCESS_TOKEN) -> Path:
    store = FileTokenStore(config.token_cache_dir)
    return store.path_for(TokenKey.for_config(config, kind))  # type: ignore[arg-type]


def test_expiry_under_32_threads_causes_one_reissue_and_no_failure(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=1)
    failures: list[BaseException] = []
    used: set[str] = set()
    with KISRestClient(token_config(sb)) as client:
        # The barrier's action runs once all 32 threads hold the same token: it expires it,
        # so every thread's next call fails with EGW00123 at about the same time.
        barrier = threading.Barrier(32, action=sb.expire_tokens)

        def worker() -> None:
            try:
                price(client)
                used.add(client.tokens.get().value)
                barrier.wait(30)
                for _ in range(3):
                    price(client)
                used.add(client.tokens.get().value)
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert failures == []
    assert len(used) == 2  # the first token and its one replacement
    stats = sb.stats()
    assert stats["tokens_issued"] == 2
    # 32 x 4 calls, plus one replay for each call the expiry caught (at most one per thread)
    assert 128 < stats["requests"][PRICE_PATH] <= 128 + 32


def test_a_second_client_within_the_interval_waits_and_succeeds(
    sandbox_factory: SandboxFactory, token_config: TokenConfig, caplog: pytest.LogCaptureFixture
) -> None:
    sb = sandbox_factory("paper", issue_interval=1)
    config = token_config(sb, token_store="memory")
    # Private stores (as two processes have): the second client finds nothing to read.
    with (
        KISRestClient(config, token_store=MemoryTokenStore()) as first,
        KISRestClient(config, token_store=MemoryTokenStore()) as second,
    ):
        issued = first.access_token()
        with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
            price(second)
        assert second.access_token().value == issued.value  # KIS's "same token within 6 h"
    assert "EGW00133" in caplog.text
    stats = sb.stats()
    assert stats["tokens_issued"] == 2
    assert stats["requests"][TOKEN_PATH] == 3  # one refusal, then one issuance after the wait
    assert stats["requests"][PRICE_PATH] == 1


def test_a_wait_longer_than_token_max_wait_fails_fast(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=60)
    config = token_config(sb, token_store="memory", issue_interval=60, token_max_wait=1)
    with (
        KISRestClient(config, token_store=MemoryTokenStore()) as first,
        KISRestClient(config, token_store=MemoryTokenStore()) as second,
    ):
        first.access_token()
        with pytest.raises(KISTokenIssueThrottledError) as caught:
            second.access_token()
    assert caught.value.code == "EGW00133"
    assert sb.stats()["requests"][TOKEN_PATH] == 2


def test_memory_store_is_one_per_process_so_a_second_client_never_asks_again(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    # D19: "memory" was per client; the second client asked KIS again and met EGW00133.
    sb = sandbox_factory("paper", issue_interval=60)
    config = token_config(sb, token_store="memory", token_max_wait=1)
    with KISRestClient(config) as first:
        issued = first.access_token()
    with KISRestClient(config) as second:
        assert second.access_token().value == issued.value
        price(second)
    assert sb.stats()["tokens_issued"] == 1
    assert sb.stats()["requests"][TOKEN_PATH] == 1


def test_real_paper_and_two_app_keys_never_overwrite_each_other(
    sandbox_factory: SandboxFactory, token_config: TokenConfig, cache_dir: Path
) -> None:
    paper = sandbox_factory("paper", issue_interval=0, seed=11)
    real = sandbox_factory("real", issue_interval=0, seed=11)
    assert paper.app_key == real.app_key  # one app key on both domains: only the env differs
    other_key, other_secret, other_account = paper.register_app()
    configs = {
        "paper": token_config(paper),
        "real": token_config(real),
        "paper, other key": token_config(
            paper, kis_app_key=other_key, kis_app_secret=other_secret, account_no=other_account
        ),
    }
    first: dict[str, str] = {}
    for name, config in configs.items():
        with KISRestClient(config) as client:
            price(client)
            first[name] = client.access_token().value
    assert len(set(first.values())) == 3
    assert len(cache_files(cache_dir)) == 6  # an entry and a lock file per key
    for name, config in configs.items():  # a new client of each finds its own token
        with KISRestClient(config) as client:
            price(client)
            assert client.access_token().value == first[name], name
    assert paper.stats()["tokens_issued"] == 2
    assert real.stats()["tokens_issued"] == 1


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_cache_files_are_private_and_hold_no_secret_or_key(
    sandbox_factory: SandboxFactory, token_config: TokenConfig, cache_dir: Path
) -> None:
    sb = sandbox_factory("real", issue_interval=0)
    config = token_config(sb)
    with KISRestClient(config) as client:
        token = client.access_token()
        approval = client.approval_key()
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    files = cache_files(cache_dir)
    assert len(files) == 4  # access token and approval key: entry + lock each
    for name, content in files.items():
        assert stat.S_IMODE((cache_dir / name).stat().st_mode) == 0o600, name
        for secret in (sb.app_secret, sb.app_key):
            assert secret.encode() not in content and secret not in name
    assert token.value.encode() in files[entry_path(config).name]
    assert approval.encode() in files[entry_path(config, APPROVAL_KEY).name]


@pytest.mark.parametrize(
    "damage",
    [b'{"format": 1, "kind": "access_token", "token": "eyJ', b"\x89PNG\r\n\x1a\n garbage"],
    ids=["truncated", "garbage"],
)
def test_a_damaged_cache_file_costs_one_reissue_and_a_warning(
    sandbox_factory: SandboxFactory,
    token_config: TokenConfig,
    caplog: pytest.LogCaptureFixture,
    damage: bytes,
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    config = token_config(sb, issue_interval=0)
    with KISRestClient(config) as client:
        price(client)
    entry_path(config).write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        with KISRestClient(config) as client:
            price(client)
            price(client)
        with KISRestClient(config) as client:  # the repaired entry serves the next one
            price(client)
    assert sb.stats()["tokens_issued"] == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "damaged" in warnings[0].getMessage()
    assert "eyJ" not in caplog.text and "garbage" not in caplog.text


def test_revoke_removes_the_token_from_the_cache(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    config = token_config(sb, issue_interval=0)
    with KISRestClient(config) as client:
        revoked = client.access_token()
    with KISRestClient(config) as client:  # a fresh process would do this: revoke the stored one
        assert client.tokens.peek() == revoked
        assert client.revoke()
        assert client.tokens.peek() is None
    entry = json.loads(entry_path(config).read_text())
    assert entry["token"] is None and entry["issued_at"]  # a tombstone keeps the issuance time
    assert revoked.value not in entry_path(config).read_text()
    with KISRestClient(config) as client:
        price(client)
        assert client.access_token().value != revoked.value
        client.close(revoke=True)
    assert json.loads(entry_path(config).read_text())["token"] is None
    stats = sb.stats()
    assert stats["tokens_revoked"] == 2
    assert stats["tokens_issued"] == 2


def test_the_approval_key_is_cached_for_every_client(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    config = token_config(sb)
    with KISRestClient(config) as client:
        key = client.approval_key()
        assert client.approval_key() == key
    with KISRestClient(config) as client:
        assert client.approval_key() == key
    assert sb.stats()["approval_keys_issued"] == 1
    assert sb.stats()["tokens_issued"] == 0  # an approval key is not an access token


def test_a_warm_cache_serves_a_new_client_without_issuing(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=1)
    config = token_config(sb)
    with KISRestClient(config) as client:
        price(client)
    for _ in range(3):
        with KISRestClient(config) as client:
            price(client)
    assert sb.stats()["tokens_issued"] == 1
    assert sb.stats()["requests"][TOKEN_PATH] == 1
