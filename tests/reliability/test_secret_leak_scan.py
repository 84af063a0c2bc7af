"""Secret leak scan: a full scenario with marker secrets, then a search for them everywhere.

The markers are an app registered in the sandbox for this test (its 180-character secret is
generated) and every access token and approval key the sandbox hands out during the scenario,
learned from the replies themselves through a recording relay (:mod:`wiretap`), CLI runs
included. The scenario: token issue, hashkey, a signed order, paging, approval key, a refresh
forced by ``expire_tokens``, errors of every kind (business, gateway, usage, config, throttled,
garbled replies, dropped replies, lost order replies), a revoked token replayed, revoke, the async
client, and the CLI commands, with DEBUG logging on for ``stock_manager`` and the root logger.

Searched: every log record (caplog at DEBUG, and a root handler formatting tracebacks), the
str/repr/attributes/traceback of every exception, the locals of every frame in the tracebacks of
those exceptions and of the exceptions chained to them (as an error tracker records them: the
repr of each local, and of the items of dicts, lists and tuples), the str/repr of the objects a
user holds,
everything the CLI printed, anything else printed to stdout/stderr, and every file written under
the test's temporary directory (the token cache may hold tokens and approval keys, never the
secret nor the raw app key).
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from raw_server import RawServer, Reply, token_reply
from reliability_helpers import (
    APPROVAL_PATH,
    BALANCE_PATH,
    HASHKEY_PATH,
    MARKET_TIME,
    ORDER_PATH,
    PRICE,
    PRICE_PATH,
    TOKEN_PATH,
    order_body,
)
from typer.testing import CliRunner
from wiretap import WireTap

from stock_manager.adapters.broker.kis import (
    AsyncKISRestClient,
    KISConfig,
    KISError,
    KISProtocolError,
    KISRestClient,
)
from stock_manager.adapters.broker.kis.bodies import balance_params
from stock_manager.adapters.broker.kis.protocol import parse_response
from stock_manager.adapters.broker.kis.redaction import register_secret
from stock_manager.adapters.broker.kis.tokens import TokenKey
from stock_manager.cli import app
from stock_manager.sandbox import KISSandbox

PRICE_ARGS = ["-p", "FID_COND_MRKT_DIV_CODE=J", "-p", "FID_INPUT_ISCD=005930"]


class Evidence:
    """Everything the scenario produced that a user or an operator could see."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.errors: list[BaseException] = []
        self.frames_walked = 0

    def add(self, source: str, text: str) -> None:
        self.texts.append((source, text))

    def show(self, source: str, *objects: Any) -> None:
        for thing in objects:
            self.add(f"{source}: {type(thing).__name__}", f"{thing!s}\n{thing!r}")

    def expect_error(
        self, source: str, call: Callable[[], Any], *, frames: bool = True
    ) -> BaseException:
        """Call, expect a KISError, keep it as evidence (with its frames' locals if ``frames``)."""
        try:
            call()
        except KISError as exc:
            self.add_error(source, exc, frames=frames)
            return exc
        pytest.fail(f"{source}: no error")

    def add_error(self, source: str, exc: BaseException, *, frames: bool = True) -> None:
        self.errors.append(exc)
        details = repr({k: v for k, v in vars(exc).items() if not k.startswith("_")})
        self.add(f"{source}: {type(exc).__name__}", f"{exc!s}\n{exc!r}\n{details}")
        self.add(f"{source}: traceback", "".join(traceback.format_exception(exc)))
        if frames:
            self.frames_walked += 1
            for where, text in frame_locals(exc):
                self.add(f"{source}: {where}", text)


def frame_locals(exc: BaseException) -> Iterator[tuple[str, str]]:
    """(frame and variable, text) for every local of every frame in the traceback of ``exc``
    and of the exceptions chained to it, as an error tracker records them.

    The chain is followed as Python prints it and as error trackers walk it: ``__cause__``, else
    ``__context__`` unless suppressed (``raise ... from None``). Frames of this test module are
    skipped: they are the user's code, which holds whatever the user passed.
    """
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        chained = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
        if chained is not None:
            pending.append(chained)
        tb = current.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename != __file__:
                for name, value in tb.tb_frame.f_locals.items():
                    where = f"local {name} of {code.co_name} ({Path(code.co_filename).name})"
                    yield where, "\n".join(_reprs(value, depth=3))
            tb = tb.tb_next


def _reprs(value: Any, depth: int) -> Iterator[str]:
    try:
        yield repr(value)
    except Exception as exc:  # a broken repr is no leak; say so and go on
        yield f"<repr failed: {type(exc).__name__}>"
    if depth == 0 or isinstance(value, str | bytes | bytearray):
        return
    # Error trackers show the items of any container (a KISResponse is a Mapping whose repr
    # hides its content) but an object only through its repr: objects' __dict__s are not
    # searched (they would find SecretStr's own field and a PreparedRequest's headers).
    if isinstance(value, Mapping):
        items: list[Any] = [*list(value.items())[:200]]
        for key, item in items:
            yield from _reprs(key, depth - 1)
            yield from _reprs(item, depth - 1)
    elif isinstance(value, Sequence | Set):
        for item in list(value)[:200]:
            yield from _reprs(item, depth - 1)


@pytest.fixture
def sandbox() -> Iterator[KISSandbox]:
    with KISSandbox(
        "paper", rate_limit=0, issue_interval=0.2, page_size=2, seed=3, market_time=MARKET_TIME
    ) as sb:
        yield sb


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """DEBUG on for ``stock_manager`` and root; a root handler that formats tracebacks too."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="stock_manager")
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def test_no_secret_leaks_anywhere(
    *,
    sandbox: KISSandbox,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    debug_logs: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    figures: Counter[str],
) -> None:
    app_key, secret, account = sandbox.register_app()
    evidence = Evidence()
    with WireTap(sandbox.base_url) as tap:

        def config(**overrides: Any) -> KISConfig:
            values: dict[str, Any] = {
                "kis_app_key": app_key,
                "kis_app_secret": secret,
                "base_url": tap.base_url,
                "account_no": account,
                "token_store": "file",
                "token_cache_dir": tmp_path / "cache",
                "token_issue_interval": 0.2,
                "token_max_wait": 10,
                "rate_limit_per_second": 100_000,
                "max_retries": 1,
                "retry_max_wait": 2,
            }
            values.update(overrides)
            return KISConfig(_env_file=None, **values)

        _library_scenario(sandbox, config, evidence)
        asyncio.run(_async_scenario(config, evidence))
        _config_errors(app_key, secret, monkeypatch, evidence)
        _cli_scenario(
            sandbox,
            base_url=tap.base_url,
            app_key=app_key,
            secret=secret,
            account=account,
            tmp_path=tmp_path,
            evidence=evidence,
        )
        learned = tap.credentials()
        assert secret.encode() in tap.to_server, "the secret did travel, to the sandbox only"

    tokens, approval_keys = learned["access_token"], learned["approval_key"]
    assert len(tokens) >= 4 and len(approval_keys) >= 2, "the scenario handed out credentials"
    markers = {"app secret": {secret}, "access token": tokens, "approval key": approval_keys}

    for record in caplog.records:
        text = record.getMessage() + "\n" + (record.exc_text or "")
        evidence.add(f"log record {record.name}", text)
    evidence.add("root handler output", debug_logs.getvalue())
    captured = capsys.readouterr()
    evidence.add("stdout/stderr", captured.out + captured.err)
    files = _files_written(tmp_path, evidence)

    leaks = []
    for source, text in evidence.texts:
        for kind, values in markers.items():
            if any(value in text for value in values):
                leaks.append(f"{kind} in {source}")
    for path, content in files.items():
        if secret.encode() in content or app_key.encode() in content:
            leaks.append(f"app secret or raw app key in file {path.name}")
        if path.suffix == ".json" and path.parent.name in ("cache", "cli-cache"):
            continue  # the token cache: tokens and approval keys allowed
        for kind, values in markers.items():
            if any(value.encode() in content for value in values):
                leaks.append(f"{kind} in file {path.name}")

    figures["leak scan: texts searched"] += len(evidence.texts)
    figures["leak scan: files searched"] += len(files)
    figures["leak scan: errors provoked"] += len(evidence.errors)
    figures["leak scan: tracebacks whose frame locals were searched"] += evidence.frames_walked
    figures["leak scan: markers"] += sum(len(values) for values in markers.values())
    figures["leaks found"] += len(leaks)
    assert not leaks, f"{len(leaks)} leak(s): {sorted(set(leaks))}"
    # The scan looked at something: logs at DEBUG, every kind of error, CLI output, the cache.
    assert len(caplog.records) > 50
    kinds = {type(exc).__name__ for exc in evidence.errors}
    assert len(kinds) >= 14, kinds
    assert evidence.frames_walked >= len(evidence.errors) - 5
    assert any(path.suffix == ".json" for path in files)


def _library_scenario(
    sandbox: KISSandbox, config: Callable[..., KISConfig], evidence: Evidence
) -> None:
    settings = config()
    body = order_body(settings)
    with KISRestClient(settings) as client:
        token = client.access_token()
        evidence.show("library", client, settings, settings.model_dump(), token, client.tokens)
        evidence.show("library", client.token_store, client.rate_limiter)
        evidence.add("library: hashkey", client.hashkey(body))
        signed = client.make_request("POST", ORDER_PATH, body, variant="buy", hashkey=True)
        price = client.make_request("GET", PRICE_PATH, PRICE)
        pages = list(client.iter_pages("GET", BALANCE_PATH, balance_params(settings)))
        evidence.show("library", signed, signed.request, price, *pages)
        evidence.add("library: approval key (masked)", str(len(client.approval_key())))
        entry = client.token_store.load(TokenKey.for_config(settings, "access_token"))
        evidence.show("library", entry)

        sandbox.expire_tokens()  # the next call meets EGW00123, drops the token, replays
        evidence.show("library", client.make_request("GET", PRICE_PATH, PRICE))

        tooth = order_body(settings, quantity=10**6)
        evidence.expect_error(
            "business", lambda: client.make_request("POST", ORDER_PATH, tooth, variant="buy")
        )
        evidence.expect_error(
            "gateway tr_id",
            lambda: client.make_request("POST", ORDER_PATH, body, tr_id="TTTC0012U"),
        )
        evidence.expect_error(
            "tampered hashkey",
            lambda: client.make_request(
                "POST", ORDER_PATH, body, variant="buy", headers={"hashkey": "0" * 64}
            ),
        )
        evidence.expect_error(
            "foreign URL",
            lambda: client.make_request("GET", "https://evil.example.com" + PRICE_PATH),
        )
        # Refused while the request is built: no frame of these tracebacks may hold the secret.
        for name, value in (("x-note", "a\r\nx: 1"), ("x-note", " padded "), ("x 노트", "x")):
            order = functools.partial(client.make_request, "POST", ORDER_PATH, body)
            evidence.expect_error(
                f"header {name!r}", functools.partial(order, variant="buy", headers={name: value})
            )
        nan = {**PRICE, "FID_INPUT_ISCD": float("nan")}
        evidence.expect_error("query nan", lambda: client.make_request("GET", PRICE_PATH, nan))
        evidence.expect_error(
            "url too long", lambda: client.make_request("GET", PRICE_PATH + "x" * 10_000)
        )
        unsendable_secret = config(kis_app_secret=settings.app_secret + "한", token_store="memory")
        with KISRestClient(unsendable_secret) as unsendable:
            evidence.expect_error("config secret not ASCII", unsendable.access_token)
        evidence.expect_error("variant", lambda: client.make_request("POST", ORDER_PATH, body))
        evidence.expect_error(
            "unknown api", lambda: client.make_request("GET", api_id="no-such-api")
        )
        evidence.expect_error(
            "paper", lambda: client.get_tr_id("order-resv", is_paper_trading=True)
        )
        for kind in ("html", "empty", "truncated", "array"):
            sandbox.set_faults(PRICE_PATH, garble_rate=1.0, garble_kind=kind)
            evidence.expect_error(
                f"garbled {kind}", lambda: client.make_request("GET", PRICE_PATH, PRICE)
            )
        query = lambda: client.make_request("GET", PRICE_PATH, PRICE)  # noqa: E731
        for path, fault, call in (
            (PRICE_PATH, "error_rate", query),
            (PRICE_PATH, "rate_limit_rate", query),
            (PRICE_PATH, "drop_before_rate", query),
            (HASHKEY_PATH, "garble_rate", lambda: client.hashkey(body)),
            (HASHKEY_PATH, "error_rate", lambda: client.hashkey(body)),
        ):
            rates: dict[str, Any] = {fault: 1.0}
            sandbox.set_faults(path, **rates)
            evidence.expect_error(f"{fault} on {path}", call)
            sandbox.clear_faults()
        sandbox.set_faults(ORDER_PATH, drop_after_rate=1.0)
        evidence.expect_error(
            "lost order reply",
            lambda: client.make_request("POST", ORDER_PATH, body, variant="buy", hashkey=True),
        )
        sandbox.clear_faults()
        for path in (TOKEN_PATH, APPROVAL_PATH):
            sandbox.set_faults(path, garble_rate=1.0, garble_kind="truncated")
            fresh = KISRestClient(config(token_store="memory"))
            evidence.expect_error(
                f"garbled {path}", fresh.access_token if path == TOKEN_PATH else fresh.approval_key
            )
            fresh.close()
            sandbox.clear_faults()

        # Wrong and unknown credentials; the wrong secret *contains* the marker.
        secret = settings.app_secret
        wrong = KISRestClient(config(kis_app_secret=secret + "0", token_store="memory"))
        evidence.expect_error("wrong secret", wrong.access_token)
        unknown = KISRestClient(config(kis_app_key="K" * 36, token_store="memory"))
        evidence.expect_error("unknown key", unknown.access_token)
        wrong.close()
        unknown.close()

        # One issuance a second: a second client with its own store is throttled at once.
        sandbox.expire_tokens()
        client.make_request("GET", PRICE_PATH, PRICE)
        impatient = KISRestClient(config(token_store="memory", token_max_wait=0))
        evidence.expect_error("throttled", impatient.access_token)
        impatient.close()

        # A token revoked under a client that still holds it: EGW00121, dropped, replayed.
        holder = KISRestClient(config())
        holder.make_request("GET", PRICE_PATH, PRICE)
        client.revoke()
        evidence.show(
            "library", holder.make_request("GET", PRICE_PATH, PRICE), holder.access_token()
        )
        holder.close(revoke=True)


async def _async_scenario(config: Callable[..., KISConfig], evidence: Evidence) -> None:
    settings = config()
    async with AsyncKISRestClient(settings) as client:
        body = order_body(settings, quantity=2)
        evidence.show("async", await client.access_token(), client)
        evidence.add("async: hashkey", await client.hashkey(body))
        evidence.show(
            "async",
            await client.make_request("POST", ORDER_PATH, body, variant="buy", hashkey=True),
        )
        evidence.add("async: approval key (masked)", str(len(await client.approval_key())))
        try:
            await client.make_request(
                "POST", ORDER_PATH, order_body(settings, quantity=10**6), variant="buy"
            )
        except KISError as exc:
            evidence.add_error("async: business error", exc)
        await client.revoke()


def _config_errors(
    app_key: str, secret: str, monkeypatch: pytest.MonkeyPatch, evidence: Evidence
) -> None:
    bad_values: list[dict[str, Any]] = [
        {"timeout": -1},
        {"custtype": "B", "environment": "real", "personalseckey": secret},
        {"account_no": secret[:20]},
        {"kis_app_secret": {"value": secret}},
        {"redis_url": 12},
    ]
    for values in bad_values:
        arguments = {"kis_app_key": app_key, "kis_app_secret": secret, **values}
        # Passed in clear as arguments, the secret is in the frames of the call by construction
        # (KISConfig.__init__'s own **values): only the message and traceback text are searched.
        evidence.expect_error(
            f"config {sorted(values)}", functools.partial(_config, arguments), frames=False
        )
    with monkeypatch.context() as env:
        env.setenv("KIS_APP_SECRET", secret)
        env.setenv("KIS_TIMEOUT", secret)
        evidence.expect_error("config from env", lambda: KISConfig(_env_file=None))


def _config(values: dict[str, Any]) -> KISConfig:
    return KISConfig(_env_file=None, **values)


def _cli_scenario(
    sandbox: KISSandbox,
    *,
    base_url: str,
    app_key: str,
    secret: str,
    account: str,
    tmp_path: Path,
    evidence: Evidence,
) -> None:
    env: dict[str, str | None] = {
        "KIS_BASE_URL": base_url,
        "KIS_APP_KEY": app_key,
        "KIS_APP_SECRET": secret,
        "KIS_ACCOUNT_NO": account,
        "KIS_ENVIRONMENT": "paper",
        "KIS_TOKEN_CACHE_DIR": str(tmp_path / "cli-cache"),
        "KIS_TOKEN_ISSUE_INTERVAL": "0.2",
        "KIS_RATE_LIMIT_PER_SECOND": "100000",
        "KIS_MAX_RETRIES": "0",
        "COLUMNS": "250",
    }
    cano, _, product = account.partition("-")
    body = json.dumps(
        {
            "CANO": cano,
            "ACNT_PRDT_CD": product,
            "PDNO": "005930",
            "ORD_DVSN": "01",  # at market: taken and filled, so its reply is scanned too
            "ORD_QTY": "3",
            "ORD_UNPR": "0",
        }
    )
    grant = json.dumps({"grant_type": "client_credentials", "appkey": app_key, "appsecret": secret})
    balance = [
        f"{k}={v}" for k, v in balance_params(KISConfig(_env_file=None, account_no=account)).items()
    ]
    runs: list[tuple[list[str], dict[str, str | None]]] = [
        (["kis", "token", "issue", "--debug"], {}),
        (["kis", "token", "status", "--json", "--debug"], {}),
        (["kis", "token", "status"], {}),
        (["kis", "hashkey", body, "--debug"], {}),
        (["kis", "approval-key", "--debug"], {}),
        (["kis", "approval-key", "--json"], {}),
        (["kis", "request", "GET", PRICE_PATH, *PRICE_ARGS, "--json", "--debug"], {}),
        (
            [
                "kis",
                "request",
                "POST",
                ORDER_PATH,
                "--variant",
                "buy",
                "--body",
                body,
                "--hashkey",
                "--debug",
            ],
            {},
        ),
        (
            [
                "kis",
                "request",
                "GET",
                BALANCE_PATH,
                *[a for p in balance for a in ("-p", p)],
                "--all-pages",
                "--debug",
            ],
            {},
        ),
        (["kis", "request", "POST", TOKEN_PATH, "--body", grant, "--json", "--debug"], {}),
        (["kis", "request", "POST", TOKEN_PATH, "--body", grant], {}),
        (["--app-secret", secret, "kis", "token", "status", "--debug"], {"KIS_APP_SECRET": None}),
        (
            ["kis", "token", "issue", "--debug"],
            {"KIS_APP_SECRET": secret + "0", "KIS_TOKEN_CACHE_DIR": str(tmp_path / "cli-other")},
        ),
        (["kis", "request", "GET", "https://evil.example.com" + PRICE_PATH, "--debug"], {}),
        (["kis", "request", "GET", PRICE_PATH, *PRICE_ARGS, "--debug"], {"KIS_TIMEOUT": secret}),
        (["kis", "token", "revoke", "--debug"], {}),
        (["kis", "token", "revoke", "--json"], {}),
    ]
    faulty = {
        PRICE_PATH: ["kis", "request", "GET", PRICE_PATH, *PRICE_ARGS, "--debug"],
        ORDER_PATH: [
            "kis",
            "request",
            "POST",
            ORDER_PATH,
            "--variant",
            "buy",
            "--body",
            body,
            "--debug",
        ],
    }
    runner = CliRunner()
    for args, extra in runs:
        result = runner.invoke(app, args, env={**env, **extra})
        evidence.add(f"cli {' '.join(args[:4])}", result.stdout + "\n" + result.stderr)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    for kind in ("html", "truncated"):
        sandbox.set_faults(PRICE_PATH, garble_rate=1.0, garble_kind=kind)
        result = runner.invoke(app, faulty[PRICE_PATH], env=env)
        evidence.add(f"cli garbled {kind}", result.stdout + "\n" + result.stderr)
        assert result.exit_code == 1
    sandbox.set_faults(ORDER_PATH, drop_after_rate=1.0)
    result = runner.invoke(app, faulty[ORDER_PATH], env=env)
    evidence.add("cli lost order reply", result.stdout + "\n" + result.stderr)
    assert result.exit_code == 1
    sandbox.clear_faults()


def _files_written(root: Path, evidence: Evidence) -> dict[Path, bytes]:
    files = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    evidence.add("file names", "\n".join(str(path) for path in files))
    return files


# -- leaks through error excerpts (raw replies the sandbox cannot produce) --------------------


def test_a_cut_approval_reply_does_not_put_the_key_in_the_error(tmp_path: Path) -> None:
    approval_key = "a2585daf-8c09-4587-9fce-8ab893ba3a4f"
    cut = b'{"approval_key":"' + approval_key.encode() + b'","expires":'
    replies = {TOKEN_PATH: token_reply(), APPROVAL_PATH: Reply.raw(200, cut)}
    with RawServer(replies) as server:
        config = KISConfig(
            _env_file=None,
            kis_app_key="A" * 36,
            kis_app_secret="S" * 180,
            base_url=server.base_url,
            token_store="memory",
            max_retries=0,
        )
        with KISRestClient(config) as client, pytest.raises(KISProtocolError) as caught:
            client.approval_key()
    assert approval_key not in str(caught.value)


def test_a_registered_secret_cut_by_the_excerpt_is_still_masked() -> None:
    secret = "excerpt-boundary-secret-" + "z" * 40
    register_secret(secret)
    body = b"x" * 100 + secret.encode() + b"<not json"
    with pytest.raises(KISProtocolError) as caught:
        parse_response(200, {}, body)
    assert secret[:16] not in str(caught.value)


def test_records_of_the_clients_child_loggers_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    secret = "child-logger-secret-" + "w" * 30
    register_secret(secret)
    # ratelimit/shared.py logs on stock_manager.kis.ratelimit: a filter on stock_manager.kis
    # alone would not see its records.
    from stock_manager.adapters.broker.kis.ratelimit import shared

    with caplog.at_level(logging.DEBUG, logger="stock_manager"):
        shared.logger.warning("request budget %s", secret)
    assert caplog.records and secret not in caplog.text


# -- leaks through frame locals of requests refused while being built -------------------------


def test_no_frame_of_a_request_refused_while_built_holds_the_secret() -> None:
    from stock_manager.adapters.broker.kis.protocol import build_hashkey_request, build_request

    secret = "frame-locals-marker-secret-" + "f" * 40
    settings = KISConfig(
        _env_file=None, kis_app_key="A" * 36, kis_app_secret=secret, base_url="http://127.0.0.1:1"
    )
    unsendable = settings.model_copy(update={"kis_app_secret": SecretStr(secret + "\x00")})
    order = functools.partial(build_request, settings, "POST", ORDER_PATH, {}, variant="buy")
    calls: list[Callable[[], Any]] = [
        functools.partial(order, headers={"x-note": "a\r\nx: 1"}),
        functools.partial(order, headers={"x-note": " padded"}),
        functools.partial(order, headers={"x 노트": "x"}),
        functools.partial(order, headers={"x-note": 1}),
        lambda: build_request(settings, "GET", PRICE_PATH, {"FID_INPUT_ISCD": float("nan")}),
        lambda: build_request(settings, "GET", PRICE_PATH, {"X": "x" * 9000}),
        lambda: build_request(unsendable, "GET", PRICE_PATH, PRICE),
        lambda: build_hashkey_request(unsendable, b"{}"),
    ]
    for call in calls:
        with pytest.raises(KISError) as caught:
            call()
        leaks = [where for where, text in frame_locals(caught.value) if secret in text]
        assert not leaks, f"{caught.value!r}: the secret is in {leaks}"


def test_no_frame_of_a_token_grant_refused_for_its_expiry_holds_the_token(tmp_path: Path) -> None:
    # Regression (review finding 3): parse_token_grant bound the new token (and the reply) in
    # its frame before raising on an expiry in the past.
    token = "expired-grant-marker-token-" + "e" * 40
    stale = {"access_token": token, "token_type": "Bearer", "expires_in": 86400,
             "access_token_token_expired": "2000-01-01 00:00:00"}  # fmt: skip
    with RawServer({TOKEN_PATH: Reply.json(200, stale)}) as server:
        config = KISConfig(
            _env_file=None,
            kis_app_key="A" * 36,
            kis_app_secret="S" * 180,
            base_url=server.base_url,
            token_store="memory",
            token_cache_dir=tmp_path,
            max_retries=0,
        )
        with KISRestClient(config) as client, pytest.raises(KISProtocolError) as caught:
            client.access_token()
    assert "already expired" in str(caught.value)
    leaks = [where for where, text in frame_locals(caught.value) if token in text]
    assert not leaks, f"the token is in {leaks}"


# -- leaks through frame locals of a reply refused by the size cap ----------------------------

SIZE_CAP_SECRET = "size-cap-marker-secret-" + "c" * 157
SIZE_CAP_TOKEN = "size-cap-marker-token-" + "k" * 40
_PADDED_GRANT = json.dumps(
    {
        "access_token": SIZE_CAP_TOKEN,
        "access_token_token_expired": "2099-12-31 23:59:59",
        "token_type": "Bearer",
        "expires_in": 86400,
        "pad": "p" * 4096,  # the first chunk alone is over the cap: it holds the token
    }
).encode()
SIZE_CAPPED = {
    # Refused on its Content-Length, before a byte of body: the request (appsecret) was out.
    "announced": Reply(200, token_reply(SIZE_CAP_TOKEN).body, content_length=64 * 1024**2),
    # Refused as it arrives: the chunk that crossed the cap carries the token.
    "streamed": Reply(200, _PADDED_GRANT, endless="close"),
}


@pytest.mark.parametrize("shell", ["sync", "async"])
@pytest.mark.parametrize("reply", SIZE_CAPPED.values(), ids=SIZE_CAPPED.keys())
def test_no_frame_of_a_token_reply_over_the_size_cap_holds_a_secret(
    shell: str, reply: Reply
) -> None:
    # Regression (transport review finding 4): the transports re-raised ReplyReader's error
    # with its traceback, whose frames kept the request body (appsecret), the last header
    # written and the chunk read.
    with RawServer({TOKEN_PATH: reply}) as server:
        config = KISConfig(
            _env_file=None,
            kis_app_key="A" * 36,
            kis_app_secret=SIZE_CAP_SECRET,
            base_url=server.base_url,
            token_store="memory",
            max_retries=0,
            max_reply_bytes=1024,
        )
        caught: BaseException | None = None
        if shell == "sync":
            with KISRestClient(config) as client:
                try:
                    client.access_token()
                except KISError as exc:
                    caught = exc
        else:

            async def issue() -> BaseException | None:
                async with AsyncKISRestClient(config) as client:
                    try:
                        await client.access_token()
                    except KISError as exc:
                        return exc
                return None

            caught = asyncio.run(issue())
    assert isinstance(caught, KISProtocolError), repr(caught)
    assert "max_reply_bytes" in str(caught)
    texts = list(frame_locals(caught))
    assert texts  # the frames were walked
    leaks = [where for where, text in texts if SIZE_CAP_SECRET in text or SIZE_CAP_TOKEN in text]
    assert not leaks, f"a secret is in {leaks}"
