"""Sequential per-call cost: our blocking client against the floor and the documented pattern.

Three ways of making the same call against the same sandbox, interleaved in rounds:

* ``ours``: :class:`KISRestClient` (``hashkey()``, ``make_request(...)``);
* ``raw``: one pooled :class:`httpx.Client` sending the same headers and body bytes and decoding
  the JSON reply: the least any httpx-based client can do, so ``ours/raw`` is our overhead;
* ``docs``: KIS's documentation example, a fresh ``requests.post``/``requests.get`` per call
  (no session, so a new TCP connection every time).

Goals: ``ours/raw <= 1.10`` and ``docs/ours >= 2`` in time per call.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace

import httpx
import requests

from benchmarks.harness import Goal, RatioSpec, ScenarioResult, Variant, alternate
from benchmarks.scenarios.common import (
    ORDER_BODY,
    PRICE_PARAMS,
    PRICE_PATH,
    PRICE_TR_ID,
    BenchContext,
    SandboxLike,
    app_headers,
    compact,
    config_for,
    gateway_headers,
    process_sandbox,
)
from benchmarks.scenarios.tls_sandbox import tls_sandbox, tls_unavailable
from stock_manager.adapters.broker.kis import KISRestClient
from stock_manager.sandbox import KISSandbox

__all__ = [
    "OVERHEAD_GOAL",
    "SPEEDUP_GOAL",
    "hashkey_scenario",
    "hashkey_tls_scenario",
    "inquire_price_scenario",
]

OVERHEAD_GOAL = Goal("<=", 1.10)
SPEEDUP_GOAL = Goal(">=", 2.0)
RATIOS = (
    RatioSpec("ours", "raw", OVERHEAD_GOAL),
    RatioSpec("docs", "ours", SPEEDUP_GOAL),
)
# A fresh connection per call is several times slower: fewer calls keep its rounds short.
DOCS_SCALE = 0.5
PLAIN_HTTP_NOTE = (
    "Plain HTTP over loopback: a fresh connection costs the documented pattern only a TCP "
    "handshake and a new requests.Session (no TLS, no network round trip), so docs/ours "
    "understates what KIS users pay; hashkey_tls measures the same calls over HTTPS."
)


def _loop(call: Callable[[], None]) -> Callable[[int], float]:
    def run_round(calls: int) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            call()
        return time.perf_counter() - started

    return run_round


def _expect_hash(value: object) -> None:
    if not isinstance(value, str) or not value:
        raise RuntimeError(f"hashkey reply without a HASH: {value!r}")


def _expect_price(payload: dict[str, object]) -> None:
    if payload.get("rt_cd") != "0" or not isinstance(payload.get("output"), dict):
        raise RuntimeError(f"inquire-price failed: {payload.get('msg_cd')} {payload.get('msg1')}")


def _timeout(client: KISRestClient) -> httpx.Timeout:
    # The raw pool gets the client's own timeouts, so the two pools are configured alike.
    return httpx.Timeout(client.config.timeout, connect=client.config.connect_timeout)


def _sandbox_counters(sandbox: KISSandbox) -> dict[str, int]:
    stats = sandbox.stats()
    return {"tokens_issued": stats["tokens_issued"], "rate_limited": stats["rate_limited"]}


def _hashkey_variants(
    stack: ExitStack, sandbox: SandboxLike, verify: ssl.SSLContext | bool, cafile: str | None
) -> list[Variant]:
    config = config_for(sandbox)
    timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
    # Over TLS the client needs the test CA; it then gets a pool like the raw one (the same
    # httpx.Client(...) it would make itself, plus ``verify``).
    pool = httpx.Client(timeout=timeout, verify=verify) if cafile else None
    client = stack.enter_context(KISRestClient(config, http_client=pool))
    if pool is not None:
        stack.enter_context(pool)
    raw = stack.enter_context(httpx.Client(timeout=timeout, verify=verify))
    url = f"{sandbox.base_url}/uapi/hashkey"
    headers = app_headers(sandbox)
    docs_verify: str | bool = cafile if cafile else True

    def ours() -> None:
        _expect_hash(client.hashkey(ORDER_BODY))

    def ours_make_request() -> None:
        _expect_hash(client.make_request("post", "/uapi/hashkey", params=ORDER_BODY)["HASH"])

    def raw_httpx() -> None:
        response = raw.post(url, content=compact(ORDER_BODY), headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"hashkey answered {response.status_code}")
        _expect_hash(response.json().get("HASH"))

    def docs() -> None:
        # KIS's sample: requests.post(URL, headers=headers, data=json.dumps(datas))
        response = requests.post(
            url, headers=headers, data=json.dumps(ORDER_BODY), verify=docs_verify
        )
        _expect_hash(response.json().get("HASH"))

    return [
        Variant("ours", "KISRestClient.hashkey", _loop(ours)),
        Variant("raw", "pooled httpx.Client", _loop(raw_httpx)),
        Variant("docs", "requests.post per call", _loop(docs), calls_scale=DOCS_SCALE),
        Variant("ours.make_request", "make_request('post', hashkey)", _loop(ours_make_request)),
    ]


def hashkey_scenario(ctx: BenchContext) -> ScenarioResult:
    """Scenario 1: N sequential ``POST /uapi/hashkey`` calls, four ways (plain HTTP)."""
    rounds, calls = ctx.rounds(5, 30), ctx.calls(150, 200)
    with process_sandbox() as sandbox, ExitStack() as stack:
        variants = _hashkey_variants(stack, sandbox, True, None)
        ctx.progress.begin("hashkey", rounds * len(variants), "sequential POST /uapi/hashkey")
        measured = alternate(variants, rounds=rounds, calls=calls, step=ctx.progress.step)
        counters = _sandbox_counters(sandbox)
    result = ScenarioResult.measured(
        "hashkey",
        "Per-call hashkey (sequential, POST /uapi/hashkey)",
        variants,
        measured,
        [*RATIOS, RatioSpec("ours.make_request", "raw", OVERHEAD_GOAL)],
        sandbox=counters,
        transport="http",
        note=PLAIN_HTTP_NOTE,
    )
    ctx.progress.finish(_summary(result))
    return result


def hashkey_tls_scenario(ctx: BenchContext) -> ScenarioResult:
    """Scenario 1b: the same over HTTPS, as KIS is reached (a fresh call pays a handshake)."""
    title = "Per-call hashkey over TLS (HTTPS, as KIS is reached)"
    reason = tls_unavailable()
    if reason is not None:
        return ScenarioResult.not_available("hashkey_tls", title, reason)
    rounds, calls = ctx.rounds(4, 16), ctx.calls(100, 200)
    with tls_sandbox(ctx.workdir) as (sandbox, cafile), ExitStack() as stack:
        verify = ssl.create_default_context(cafile=str(cafile))
        variants = _hashkey_variants(stack, sandbox, verify, str(cafile))
        # A handshake per call makes the documented pattern several times slower.
        variants[2] = replace(variants[2], calls_scale=DOCS_SCALE / 2)
        ctx.progress.begin("hashkey_tls", rounds * len(variants), "sequential hashkey, HTTPS")
        measured = alternate(variants, rounds=rounds, calls=calls, step=ctx.progress.step)
    result = ScenarioResult.measured(
        "hashkey_tls",
        title,
        variants,
        measured,
        [*RATIOS, RatioSpec("ours.make_request", "raw", OVERHEAD_GOAL)],
        transport="https (self-signed RSA-2048 certificate, TLS over loopback)",
    )
    ctx.progress.finish(_summary(result))
    return result


def inquire_price_scenario(ctx: BenchContext) -> ScenarioResult:
    """Scenario 2: N sequential authenticated GETs (inquire-price), the token cached."""
    rounds, calls = ctx.rounds(5, 30), ctx.calls(150, 200)
    with process_sandbox() as sandbox, ExitStack() as stack:
        client = stack.enter_context(KISRestClient(config_for(sandbox)))
        token = client.access_token().value  # issued once; every variant uses it
        raw = stack.enter_context(httpx.Client(timeout=_timeout(client)))
        url = f"{sandbox.base_url}{PRICE_PATH}"
        headers = gateway_headers(sandbox, token, PRICE_TR_ID)

        def ours() -> None:
            _expect_price(
                client.make_request("GET", api_id="inquire-price", params=PRICE_PARAMS).json()
            )

        def raw_httpx() -> None:
            response = raw.get(url, params=PRICE_PARAMS, headers=headers)
            _expect_price(response.json())

        def docs() -> None:
            # KIS's sample: requests.get(URL, headers=headers, params=params)
            _expect_price(requests.get(url, headers=headers, params=PRICE_PARAMS).json())

        variants = [
            Variant("ours", "KISRestClient.make_request", _loop(ours)),
            Variant("raw", "pooled httpx.Client", _loop(raw_httpx)),
            Variant("docs", "requests.get per call", _loop(docs), calls_scale=DOCS_SCALE),
        ]
        ctx.progress.begin("inquire_price", rounds * len(variants), "sequential GET inquire-price")
        measured = alternate(variants, rounds=rounds, calls=calls, step=ctx.progress.step)
        counters = _sandbox_counters(sandbox)
    result = ScenarioResult.measured(
        "inquire_price",
        "Per-call authenticated GET (inquire-price, token cached)",
        variants,
        measured,
        RATIOS,
        sandbox=counters,
        transport="http",
        note=PLAIN_HTTP_NOTE,
    )
    ctx.progress.finish(_summary(result))
    return result


def _summary(result: ScenarioResult) -> str:
    return "  ".join(f"{r['name']} {r['value']:.2f}" for r in result.data["ratios"])
