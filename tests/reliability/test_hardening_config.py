"""Issue 12, configuration: where credentials may go, which URLs and numbers are accepted, and
what configs show of themselves (findings D3, D4, D17, D30, D25, D31).

The .env tests write a ``.env`` in a temporary directory and run there, with the credentials in
the environment, the way the review reproduced D3; the CLI one checks on a raw loopback server
that nothing was posted to it.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from raw_server import RawServer, token_reply
from typer.testing import CliRunner

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError
from stock_manager.cli import app
from stock_manager.sandbox.loopback import is_loopback_host

KEY = "PSabcdefghijklmnopqrstuvwxyz01234567"
SECRET = "S" * 180
KIS_LOGGER = "stock_manager.kis"


def make(**values: object) -> KISConfig:
    return KISConfig(_env_file=None, **values)


@pytest.fixture
def in_dir_with_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory; the test writes its .env."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / ".env"


def credentials_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_APP_KEY", KEY)
    monkeypatch.setenv("KIS_APP_SECRET", SECRET)


# -- D3: a .env must not choose where the environment's credentials go -------------------------


def test_kis_token_issue_does_not_post_env_credentials_to_a_dotenv_server(
    in_dir_with_dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials_in_environment(monkeypatch)
    with RawServer({"/oauth2/tokenP": token_reply()}) as elsewhere:
        in_dir_with_dotenv.write_text(f"KIS_BASE_URL={elsewhere.base_url}\n", encoding="utf-8")
        result = CliRunner().invoke(app, ["kis", "token", "issue"], env={"COLUMNS": "250"})
        assert elsewhere.count() == 0, "the app key and secret were posted to the .env's server"
    text = f"{result.stdout}\n{result.stderr}"
    assert result.exit_code == 2, text
    assert "KIS_BASE_URL" in text
    assert ".env" in text
    assert SECRET not in text
    assert KEY not in text


@pytest.mark.parametrize(
    "line", ["KIS_BASE_URL=http://127.0.0.1:9", "KIS_REDIS_URL=redis://127.0.0.1:9/0"]
)
def test_destination_from_dotenv_with_credentials_from_environment_is_refused(
    in_dir_with_dotenv: Path, monkeypatch: pytest.MonkeyPatch, line: str
) -> None:
    credentials_in_environment(monkeypatch)
    in_dir_with_dotenv.write_text(line + "\n", encoding="utf-8")
    variable = line.partition("=")[0]
    with pytest.raises(KISConfigError, match=variable) as caught:
        KISConfig()
    message = str(caught.value)
    assert "the environment" in message
    assert SECRET not in message
    assert KEY not in message


def test_destination_from_dotenv_with_credentials_as_arguments_is_refused(
    in_dir_with_dotenv: Path,
) -> None:
    in_dir_with_dotenv.write_text("KIS_BASE_URL=http://127.0.0.1:9\n", encoding="utf-8")
    with pytest.raises(KISConfigError, match="arguments"):
        KISConfig(kis_app_key=KEY, kis_app_secret=SECRET)
    with pytest.raises(KISConfigError, match="KIS_BASE_URL"):
        KISConfig(KIS_APP_KEY=KEY)  # the alias is an argument too


def test_explicit_env_file_is_checked_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials_in_environment(monkeypatch)
    env_file = tmp_path / "custom.env"
    env_file.write_text("KIS_BASE_URL=http://127.0.0.1:9\n", encoding="utf-8")
    with pytest.raises(KISConfigError, match="KIS_BASE_URL"):
        KISConfig(_env_file=env_file)


def test_a_dotenv_holding_its_own_credentials_may_name_the_server(
    in_dir_with_dotenv: Path,
) -> None:
    in_dir_with_dotenv.write_text(
        f"KIS_APP_KEY={KEY}\nKIS_APP_SECRET={SECRET}\nKIS_BASE_URL=http://127.0.0.1:9\n",
        encoding="utf-8",
    )
    config = KISConfig()
    assert config.rest_base_url == "http://127.0.0.1:9"
    assert config.app_key == KEY


def test_the_environment_may_name_the_server_for_dotenv_credentials(
    in_dir_with_dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_dir_with_dotenv.write_text(
        f"KIS_APP_KEY={KEY}\nKIS_APP_SECRET={SECRET}\nKIS_BASE_URL=http://127.0.0.1:8\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KIS_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KIS_APP_SECRET", SECRET + "x")
    # The environment's base_url replaces the .env's: the .env chose nothing.
    assert KISConfig().rest_base_url == "http://127.0.0.1:9"


def test_an_empty_dotenv_base_url_chooses_nothing(
    in_dir_with_dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials_in_environment(monkeypatch)
    in_dir_with_dotenv.write_text("KIS_BASE_URL=\nKIS_ACCOUNT_NO=12345678-01\n", encoding="utf-8")
    config = KISConfig()
    assert config.base_url is None
    assert config.account_no == "12345678-01"


def test_precedence_is_arguments_then_environment_then_dotenv(
    in_dir_with_dotenv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials_in_environment(monkeypatch)
    in_dir_with_dotenv.write_text("KIS_TIMEOUT=7\nKIS_CONNECT_TIMEOUT=7\nKIS_MAX_RETRIES=7\n")
    monkeypatch.setenv("KIS_TIMEOUT", "8")
    monkeypatch.setenv("KIS_CONNECT_TIMEOUT", "8")
    config = KISConfig(timeout=9)
    assert (config.timeout, config.connect_timeout, config.max_retries) == (9, 8, 7)


def test_a_foreign_base_url_is_named_in_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=KIS_LOGGER):
        make(kis_app_key=KEY, kis_app_secret=SECRET, base_url="https://kis-proxy.example.com")
    warnings = [r for r in caplog.records if "kis-proxy.example.com" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080",
        "http://127.3.4.5:8080",
        "http://[::1]:8080",
        "http://localhost:8080",
        "https://openapi.koreainvestment.com:9443",
        "https://openapivts.koreainvestment.com:29443",
    ],
)
def test_kis_and_loopback_base_urls_are_not_warned_about(
    caplog: pytest.LogCaptureFixture, url: str
) -> None:
    with caplog.at_level(logging.WARNING, logger=KIS_LOGGER):
        make(kis_app_key=KEY, kis_app_secret=SECRET, base_url=url)
    assert not [r for r in caplog.records if "base_url" in r.getMessage()]


def test_config_errors_carry_no_secret_in_chained_errors_or_frame_locals(
    in_dir_with_dotenv: Path,
) -> None:
    # An error tracker records chained exceptions and the locals of every traceback frame.
    in_dir_with_dotenv.write_text("KIS_BASE_URL=http://127.0.0.1:9\n", encoding="utf-8")
    for values in ({"timeout": -1}, {}):  # a refused value; a refused .env destination
        with pytest.raises(KISConfigError) as caught:
            KISConfig(kis_app_key=KEY, kis_app_secret=SECRET, **values)
        assert caught.value.__context__ is None
        tb = caught.value.__traceback__
        while tb is not None:
            if not tb.tb_frame.f_code.co_filename.endswith("test_hardening_config.py"):
                assert SECRET not in repr(tb.tb_frame.f_locals), tb.tb_frame.f_code.co_name
            tb = tb.tb_next


# -- D4, D17, D30: base URLs are refused as the transport would, at config time ----------------


def test_base_url_with_userinfo_is_refused_without_echoing_it() -> None:
    with pytest.raises(KISConfigError, match="base_url") as caught:
        make(base_url="http://someone:hunter2pw@127.0.0.1:9")
    # The message, and no chained pydantic error (whose text would quote the input).
    shown = "".join(traceback.format_exception_only(caught.value))
    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None
    assert "hunter2pw" not in shown
    assert "someone" not in shown
    assert "password" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://exámple.invalid",  # httpx would rewrite it to xn--exmple-qta
        "http://a..b",
        "http://.example.com",
        "http://1.2.3.4.5",
        "http://-bad.example.com",
        "http://xn--zz.example.com",  # an A-label that does not decode: IDNAError at call time
        "http://exa%41mple.com",
        "http://" + "a" * 64 + ".com",
        "http://ⓐ.com",
    ],
)
def test_base_url_hosts_the_transport_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(KISConfigError, match=r"base_url \(KIS_BASE_URL\)"):
        make(base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/a\r\nb",
        "http://127.0.0.1:1/a\nb",
        "http://127.0.0.1\t:1",
        "http://127.0.0.1:1/a b",
        "http://127.0.0.1:1/a\x00",
        "http://127.0.0.1:1/a\x7f",
        "http://127.0.0.1:1/a\u2028b",
        "http://127.0.0.1:1/a\u200bb",
    ],
)
def test_base_url_with_inner_whitespace_or_control_characters_is_refused(url: str) -> None:
    with pytest.raises(KISConfigError, match="control characters"):
        make(base_url=url)


def test_redis_url_with_inner_line_break_is_refused_without_echoing_it() -> None:
    with pytest.raises(KISConfigError, match="redis_url") as caught:
        make(redis_url="redis://:pw-hunter2@127.0.0.1:6379/0\nx")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (" http://127.0.0.1:8080/\n", "http://127.0.0.1:8080"),  # a .env line's newline
        ("http://kis_sandbox:8080", "http://kis_sandbox:8080"),  # a container name
        ("http://host.example.:8080", "http://host.example.:8080"),
        ("http://[::1]:8080/prefix", "http://[::1]:8080/prefix"),
    ],
)
def test_good_base_urls_are_kept(url: str, kept: str) -> None:
    assert make(base_url=url).base_url == kept


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 1e300),
        ("connect_timeout", 1e300),
        ("request_deadline", 1e300),
        ("max_reply_bytes", 1e300),
        ("token_refresh_margin", 1e300),
        ("token_max_wait", 1e300),
        ("token_issue_interval", 1e300),
        ("rate_limit_per_second", 1e300),
        ("rate_limit_per_second", 1e-300),
        ("max_retries", 1e300),
        ("max_retries", 101),
        ("retry_max_wait", 1e300),
        ("redis_fallback_share", 1e-300),
        ("redis_probe_interval", 1e300),
        ("redis_lease_ttl", 1e300),
    ],
)
def test_implausible_numbers_are_refused_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(KISConfigError) as caught:
        make(**{field: value})
    assert f"{field} (KIS_{field.upper()})" in str(caught.value)


def test_implausible_number_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_TOKEN_MAX_WAIT", "1e300")
    with pytest.raises(KISConfigError, match="KIS_TOKEN_MAX_WAIT"):
        make()


def test_a_day_is_still_accepted_for_waits() -> None:
    config = make(timeout=86_400, token_max_wait=86_400, max_retries=100)
    assert config.attempt_deadline > 0


# -- D25: implausibly short secrets are warned about -------------------------------------------


def test_short_app_secret_is_warned_about_without_its_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=KIS_LOGGER):
        make(kis_app_key=KEY, kis_app_secret="sh0rtX")
    warnings = [r for r in caplog.records if "KIS_APP_SECRET" in r.getMessage()]
    assert len(warnings) == 1
    assert "sh0rtX" not in caplog.text


def test_a_full_length_app_secret_is_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=KIS_LOGGER):
        make(kis_app_key=KEY, kis_app_secret=SECRET)
    assert not [r for r in caplog.records if "KIS_APP_SECRET" in r.getMessage()]


# -- D31: dumps show the app key as the repr does ----------------------------------------------


def test_dumps_show_the_app_key_as_the_repr_does() -> None:
    config = make(kis_app_key=KEY, kis_app_secret=SECRET)
    dumped = config.model_dump()
    assert dumped["kis_app_key"] == "PSab…"
    assert KEY not in str(dumped)
    assert KEY not in config.model_dump_json()
    assert SECRET not in config.model_dump_json()
    assert "kis_app_key='PSab…'" in repr(config)
    assert config.app_key == KEY
    assert config.kis_app_key == KEY


# -- Review of issue 12: one rate floor with Redis, checked when the config is built -----------


def test_a_rate_below_the_shared_floor_with_redis_is_refused_at_config_time() -> None:
    # Before: accepted here, refused only when the budget was first used (a token issued by then).
    with pytest.raises(KISConfigError, match="rate_limit_per_second") as caught:
        make(rate_limit_per_second=0.05, redis_url="redis://127.0.0.1:1/0")
    assert "KIS_RATE_LIMIT_PER_SECOND" in str(caught.value)
    assert "0.1" in str(caught.value)


def test_the_shared_floor_applies_only_with_redis() -> None:
    assert make(rate_limit_per_second=0.05).requests_per_second == 0.05  # the 0.001 bound only
    assert make(rate_limit_per_second=0.1, redis_url="redis://127.0.0.1:1/0").redis_url


# -- Review of issue 12: one loopback set for the client and the sandbox -----------------------


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "127.8.9.10", "::1", "::1%lo", "::ffff:127.0.0.1", "10.0.0.1"],
)
def test_the_client_counts_as_loopback_what_the_sandbox_does(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://[{host.replace('%', '%25')}]:8080" if ":" in host else f"http://{host}:8080"
    with caplog.at_level(logging.WARNING, logger=KIS_LOGGER):
        try:
            make(base_url=url)
        except KISConfigError:
            pytest.skip(f"{url} is not a base_url the transport can use")
    warned = "neither a KIS domain nor a loopback address" in caplog.text
    assert warned is not is_loopback_host(host)
