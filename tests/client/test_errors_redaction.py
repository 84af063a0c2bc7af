"""The error tree, error_for, the package's public face, and log redaction (no network)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from stock_manager.adapters.broker import kis
from stock_manager.adapters.broker.kis import errors, ratelimit, tokens
from stock_manager.adapters.broker.kis.protocol import parse_hashkey
from stock_manager.adapters.broker.kis.redaction import (
    MAX_SHORT_LIVED,
    RedactingFilter,
    redact,
    register_secret,
)


def test_every_error_class_is_exported_and_under_kis_error() -> None:
    classes = [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type)
        and issubclass(obj, Exception)
        and obj.__module__ == errors.__name__
    ]
    assert len(classes) >= 20
    for cls in classes:
        assert issubclass(cls, kis.KISError), cls
        assert cls.__name__ in kis.__all__, cls
        assert getattr(kis, cls.__name__) is cls
        assert cls.__doc__ and "\n" not in cls.__doc__.strip(), cls  # one-line docstrings


def test_the_tree_named_in_the_issue() -> None:
    api = kis.KISAPIError
    for cls in (
        kis.KISCredentialsError,
        kis.KISInvalidTokenError,
        kis.KISTokenExpiredError,
        kis.KISTokenIssueThrottledError,
        kis.KISRateLimitError,
        kis.KISInvalidHashkeyError,
        kis.KISBusinessError,
    ):
        assert issubclass(cls, api)
    assert issubclass(kis.KISTokenExpiredError, kis.KISInvalidTokenError)
    # A lost order reply is not a transport error: `except KISTransportError: retry` must not
    # send an order twice.
    assert not issubclass(kis.KISAmbiguousOutcomeError, kis.KISTransportError)
    assert issubclass(kis.KISConnectError, kis.KISTransportError)
    for cls in (
        kis.KISAmbiguousOutcomeError,
        kis.KISConfigError,
        kis.KISUnknownAPIError,
        kis.KISPaperTradingUnsupportedError,
        kis.KISTransportError,
        kis.KISProtocolError,
    ):
        assert issubclass(cls, kis.KISError)
        assert not issubclass(cls, api)


def test_error_for_message_reads_like_kis_plus_a_hint() -> None:
    error = kis.error_for(
        "EGW00201",
        "초당 거래건수를 초과하였습니다.",
        status_code=500,
        tr_id="VTTC8434R",
        gt_uid="g1",
    )
    assert isinstance(error, kis.KISRateLimitError)
    text = str(error)
    assert text.startswith(
        "EGW00201 초당 거래건수를 초과하였습니다. (HTTP 500, tr_id=VTTC8434R, gt_uid=g1)"
    )
    assert "retry" in text


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        ("ZZZ99999", 200, kis.KISBusinessError),
        ("ZZZ99999", 500, kis.KISAPIError),
        ("", 503, kis.KISServerError),
        ("EGW00123", 200, kis.KISTokenExpiredError),
    ],
)
def test_error_for_unknown_and_known_codes(code: str, status: int, cls: type) -> None:
    assert type(kis.error_for(code, "m", status_code=status)) is cls


def test_specific_hints_for_configuration_codes() -> None:
    assert "KIS_ENVIRONMENT" in str(kis.error_for("EGW02004", "wrong domain", status_code=500))
    assert "paper" in str(kis.error_for("EGW00210", "corporate", status_code=500))


def test_ambiguous_outcome_carries_the_order() -> None:
    sent = datetime.now(UTC)
    error = kis.KISAmbiguousOutcomeError(
        "reply lost", sent_at=sent, body={"PDNO": "005930"}, tr_id="TTTC0012U"
    )
    assert error.body == {"PDNO": "005930"}
    assert error.sent_at == sent
    assert "orders.reconcile" in error.hint
    assert "orders.reconcile" in str(error)


def test_redacting_filter_masks_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "super-secret-app-secret-value"
    register_secret(secret)
    logger = logging.getLogger("stock_manager.kis")
    with caplog.at_level(logging.DEBUG, logger="stock_manager.kis"):
        logger.debug("secret in args: %s", secret)
        logger.debug(f"secret in message: {secret}")
        try:
            raise RuntimeError(f"boom {secret}")
        except RuntimeError:
            logger.exception("failed")
    assert secret not in caplog.text
    assert caplog.text.count("***") >= 3
    assert redact(f"x{secret}y") == "x***y"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("appsecret=q7", "appsecret=***"),
        ('{"appsecret": "q7"}', '{"appsecret": "***"}'),
        ("secret is q7.", "secret is ***."),
        ("q7", "***"),
        # Innocent text that merely contains it stays as it is.
        ("q77 aq7 q7b", "q77 aq7 q7b"),
        ("v1.q7.3 x-q7-y a/q7", "v1.q7.3 x-q7-y a/q7"),
    ],
)
def test_short_secrets_are_masked_where_they_stand_whole(text: str, expected: str) -> None:
    # D25: secrets under 8 characters used to be dropped, so `KIS_APP_SECRET=q7` reached logs.
    register_secret("q7")
    assert redact(text) == expected


def test_short_secret_is_masked_in_log_records(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("zz9")
    logger = logging.getLogger("stock_manager.kis")
    with caplog.at_level(logging.DEBUG, logger="stock_manager.kis"):
        logger.debug("body %s, price %s", {"appsecret": "zz9"}, "zz90")
    assert "'zz9'" not in caplog.text
    assert "'***'" in caplog.text
    assert "price zz90" in caplog.text


def test_a_long_secret_holding_a_short_one_is_masked_whole() -> None:
    register_secret("k2")
    register_secret("long-secret-k2-value")
    assert redact("x long-secret-k2-value y k2") == "x *** y ***"


def test_redacting_filter_can_guard_other_handlers() -> None:
    secret = "another-secret-for-handlers"
    register_secret(secret)
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "url %s", (secret,), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "url ***"


def test_old_hashkeys_are_forgotten_while_lasting_secrets_stay() -> None:
    # Issue 13: every hashkey was kept forever, so each log record cost more with every order
    # signed. Only the most recent short-lived secrets are kept; the app secret stays.
    lasting = "lasting-app-secret-for-the-bound"
    register_secret(lasting)
    hashkeys = [f"hashkey-{n:06d}-for-the-bound" for n in range(MAX_SHORT_LIVED + 50)]
    for value in hashkeys:
        parse_hashkey({"HASH": value})
    assert redact(hashkeys[0]) == hashkeys[0]  # forgotten
    assert redact(hashkeys[-MAX_SHORT_LIVED]) == "***"  # the oldest still kept
    assert redact(hashkeys[-1]) == "***"
    assert redact(f"x {lasting} y") == "x *** y"


def test_a_secret_registered_for_good_is_not_forgotten_as_a_hashkey() -> None:
    both = "registered-both-ways-secret"
    register_secret(both, short_lived=True)
    register_secret(both)
    for n in range(MAX_SHORT_LIVED + 1):
        register_secret(f"filler-hashkey-{n:06d}-value", short_lived=True)
    assert redact(both) == "***"


def test_one_code_table_drives_hints_classes_and_refusals() -> None:
    assert isinstance(kis.error_for("EGW00103", "m", status_code=500), kis.KISCredentialsError)
    assert "custtype" in str(kis.error_for("EGW00208", "m", status_code=500)).lower()
    for code in ("EGW00103", "EGW00123", "EGW00132", "EGW00210", "OPSQ0002", "OPSQ0003"):
        assert errors.is_gateway_refusal(code), code
    # Limit exceeded and server failures pass later: not refusals.
    for code in ("EGW00201", "EGW00215", "EGW00001", "EGW00002", "ZZZ99999", ""):
        assert not errors.is_gateway_refusal(code), code


def test_the_public_face_is_curated_and_extension_points_live_in_subpackages() -> None:
    # The clients, their config, response values, catalog look-ups and every exception (so an
    # ``except`` clause imports from one place); extension points stay in subpackages.
    assert len(kis.__all__) <= 56
    assert "FileTokenStore" not in kis.__all__ and "RedisRateLimiter" not in kis.__all__
    assert tokens.FileTokenStore.__name__ == "FileTokenStore"
    assert tokens.make_token_store.__module__ == tokens.__name__
    assert ratelimit.RedisRateLimiter.__name__ == "RedisRateLimiter"
    for name in tokens.__all__:
        assert hasattr(tokens, name), name
    for name in ratelimit.__all__:
        assert hasattr(ratelimit, name), name
