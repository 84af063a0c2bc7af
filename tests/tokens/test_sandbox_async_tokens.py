"""The token lifecycle of AsyncKISRestClient against the sandbox: the sync scenarios, with tasks."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from token_helpers import PRICE, PRICE_PATH, TOKEN_PATH, SandboxFactory, TokenConfig

from stock_manager.adapters.broker.kis import AsyncKISRestClient, KISConfig
from stock_manager.adapters.broker.kis.tokens import (
    ACCESS_TOKEN,
    FileTokenStore,
    MemoryTokenStore,
    TokenKey,
)

pytestmark = pytest.mark.anyio


async def price(client: AsyncKISRestClient) -> None:
    reply = await client.make_request("GET", api_id="inquire-price", params=PRICE)
    assert reply["rt_cd"] == "0"


def entry_path(config: KISConfig) -> Path:
    store = FileTokenStore(config.token_cache_dir)
    return store.path_for(TokenKey.for_config(config, ACCESS_TOKEN))


async def test_cold_start_of_64_tasks_on_two_clients_issues_once(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=1)
    config = token_config(sb)
    async with AsyncKISRestClient(config) as one, AsyncKISRestClient(config) as two:
        await asyncio.gather(*(price(client) for client in (one, two) for _ in range(32)))
        assert one.tokens.current == two.tokens.current
    assert sb.stats()["tokens_issued"] == 1
    assert sb.stats()["requests"][TOKEN_PATH] == 1


async def test_expiry_under_32_tasks_causes_one_reissue_and_no_failure(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("real", issue_interval=1)
    async with AsyncKISRestClient(token_config(sb)) as client:
        await asyncio.gather(*(price(client) for _ in range(32)))
        first = await client.access_token()
        sb.expire_tokens()  # every task's next call carries the expired token
        results = await asyncio.gather(*(price(client) for _ in range(32)), return_exceptions=True)
        assert [r for r in results if r is not None] == []
        await asyncio.gather(*(price(client) for _ in range(32)))
        assert (await client.access_token()).value != first.value
    stats = sb.stats()
    assert stats["tokens_issued"] == 2
    assert stats["requests"][PRICE_PATH] == 32 * 3 + 32  # each expired call replayed once


async def test_a_second_client_within_the_interval_waits_and_succeeds(
    sandbox_factory: SandboxFactory, token_config: TokenConfig, caplog: pytest.LogCaptureFixture
) -> None:
    sb = sandbox_factory("paper", issue_interval=1)
    config = token_config(sb, token_store="memory")
    # Private stores (as two processes have): the second client finds nothing to read.
    async with (
        AsyncKISRestClient(config, token_store=MemoryTokenStore()) as first,
        AsyncKISRestClient(config, token_store=MemoryTokenStore()) as second,
    ):
        await first.access_token()
        with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
            await asyncio.gather(*(price(second) for _ in range(8)))
    assert "EGW00133" in caplog.text
    assert sb.stats()["tokens_issued"] == 2
    assert sb.stats()["requests"][TOKEN_PATH] == 3


async def test_real_and_paper_with_one_key_keep_their_own_tokens(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    paper = sandbox_factory("paper", issue_interval=0, seed=5)
    real = sandbox_factory("real", issue_interval=0, seed=5)
    tokens: dict[str, str] = {}
    for _ in range(2):
        for sb in (paper, real):
            async with AsyncKISRestClient(token_config(sb)) as client:
                await price(client)
                value = (await client.access_token()).value
                assert tokens.setdefault(sb.environment, value) == value
    assert tokens["paper"] != tokens["real"]
    assert paper.stats()["tokens_issued"] == 1 and real.stats()["tokens_issued"] == 1


async def test_a_damaged_cache_file_costs_one_reissue_and_a_warning(
    sandbox_factory: SandboxFactory, token_config: TokenConfig, caplog: pytest.LogCaptureFixture
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    config = token_config(sb, issue_interval=0)
    async with AsyncKISRestClient(config) as client:
        await price(client)
    entry_path(config).write_bytes(entry_path(config).read_bytes()[:40])
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        for _ in range(2):
            async with AsyncKISRestClient(config) as client:
                await asyncio.gather(*(price(client) for _ in range(8)))
    assert sb.stats()["tokens_issued"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "is damaged" in warnings[0]


async def test_revoke_and_approval_key(
    sandbox_factory: SandboxFactory, token_config: TokenConfig
) -> None:
    sb = sandbox_factory("paper", issue_interval=0)
    config = token_config(sb, issue_interval=0)
    async with AsyncKISRestClient(config) as client:
        revoked = await client.access_token()
        key = await client.approval_key()
    async with AsyncKISRestClient(config) as client:
        assert await client.approval_key() == key
        assert await client.tokens.peek() == revoked
        assert await client.revoke()
        assert await client.tokens.peek() is None
    assert json.loads(entry_path(config).read_text())["token"] is None
    client = AsyncKISRestClient(config)
    await price(client)
    assert (await client.access_token()).value != revoked.value
    await client.aclose(revoke=True)
    stats = sb.stats()
    assert (stats["tokens_issued"], stats["tokens_revoked"], stats["approval_keys_issued"]) == (
        2,
        2,
        1,
    )
