"""Bad input, row by row: the exact exception class, and nothing sent when refused locally.

The rows live in :mod:`bad_input_local_rows` (configuration and call arguments, refused before
anything is sent: the sandbox's request counters must not move) and :mod:`bad_input_reply_rows`
(replies from the sandbox's faults and refusals, and from a raw server for what the sandbox
cannot send).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from bad_input import Case, Ctx
from bad_input_local_rows import ARGUMENT_ROWS, CONFIG_ROWS
from bad_input_reply_rows import RAW_ROWS, SANDBOX_ROWS
from raw_server import RawServer, Reply, token_reply
from reliability_helpers import PRICE, PRICE_PATH, TOKEN_PATH, ConfigFactory, requests_sent

from stock_manager.adapters.broker.kis import KISAPIError, KISRestClient
from stock_manager.sandbox import KISSandbox

ROWS = CONFIG_ROWS + ARGUMENT_ROWS + SANDBOX_ROWS + RAW_ROWS


def test_the_table_is_big_enough() -> None:
    kinds = Counter(param.values[0].where for param in ROWS)
    assert len(ROWS) >= 40
    assert kinds["local"] >= 20 and kinds["sandbox"] >= 10 and kinds["raw"] >= 10
    assert len({param.id for param in ROWS}) == len(ROWS)


@pytest.mark.parametrize("case", ROWS)
def test_bad_input(
    case: Case,
    *,
    rel_sandbox: KISSandbox,
    rel_config: ConfigFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    figures: Counter[str],
) -> None:
    figures["inputs tried: bad-input table rows"] += 1
    ctx = Ctx(rel_sandbox, rel_config, tmp_path, monkeypatch)
    if case.faults is not None:
        rel_sandbox.set_faults(**case.faults)
    before = rel_sandbox.stats()
    if case.where == "raw":
        with RawServer({TOKEN_PATH: token_reply(), **case.replies}) as server:
            ctx.server = server
            raised = _raised(case, ctx)
    else:
        raised = _raised(case, ctx)
    sent = requests_sent(rel_sandbox) - sum(before["requests"].values())

    if type(raised) is not case.expected:
        raise raised  # the real exception, so the failure (or the xfail's raises=) names it
    assert str(raised), "the error says what went wrong"
    if case.where == "local":
        assert sent == 0, f"refused locally, yet {sent} request(s) reached the sandbox"
    elif case.where == "sandbox":
        assert sent >= 1
        injected = rel_sandbox.stats()["faults"]
        figures["faults survived"] += sum(injected.values()) - sum(before["faults"].values())
    else:
        assert ctx.server is not None and ctx.server.count() >= 1
        assert sent == 0
    if case.check is not None:
        case.check(ctx, before)


def _raised(case: Case, ctx: Ctx) -> Exception:
    try:
        case.call(ctx)
    except Exception as exc:  # the row's assertion is on its exact class
        return exc
    pytest.fail(f"DID NOT RAISE {case.expected.__name__}")


def test_unknown_codes_keep_their_code_and_status(rel_config: ConfigFactory) -> None:
    reply = Reply.json(500, {"rt_cd": "1", "msg_cd": "EGW09999", "msg1": "알 수 없는 오류"})
    with RawServer({TOKEN_PATH: token_reply(), PRICE_PATH: reply}) as server:
        client = KISRestClient(rel_config(server))
        with client, pytest.raises(KISAPIError) as caught:
            client.make_request("GET", PRICE_PATH, PRICE)
    assert (caught.value.code, caught.value.status_code) == ("EGW09999", 500)
    assert "EGW09999" in str(caught.value) and "알 수 없는 오류" in str(caught.value)
