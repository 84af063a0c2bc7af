"""KISConfig.from_kis_devlp: KIS's own kis_devlp.yaml (the layout of koreainvestment/
open-trading-api), its keys mapped as KIS's samples (kis_auth.py) use them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError, KISRestClient
from stock_manager.adapters.broker.kis._kis_devlp import parse_flat_yaml
from stock_manager.sandbox import KISSandbox

SandboxFactory = Callable[..., KISSandbox]

PAPER_SECRET = "PaperSecret+/=" * 10
REAL_SECRET = "RealSecret+/=" * 10

# KIS's file as shipped (comments, quotes, commented-out alternatives), with values filled in.
KIS_DEVLP = """\
#홈페이지에서 API서비스 신청시 받은 Appkey, Appsecret 값 설정
#실전투자
my_app: "PSrealAppKey000000000000000000000001"
my_sec: "{real_secret}"

#모의투자
paper_app: "PSpaperAppKey00000000000000000000002"
paper_sec: "{paper_secret}"

# HTS ID
my_htsid: "hong123"

#계좌번호 앞 8자리
my_acct_stock: "12345678"
my_acct_future: "23456789"
my_paper_stock: "50123456"
my_paper_future: "60123456"

#계좌번호 뒤 2자리
my_prod: "01" # 종합계좌
# my_prod: "03" # 국내선물옵션계좌
# my_prod: "08" # 해외선물옵션 계좌

#domain infos
prod: "{prod}" # 서비스
ops: "ws://ops.koreainvestment.com:21000" # 웹소켓
vps: "{vps}" # 모의투자 서비스
vops: "ws://ops.koreainvestment.com:31000" # 모의투자 웹소켓

my_token: ""

# User-Agent; Chrome > F12 개발자 모드 > Console > navigator.userAgent > 자신의 userAgent 확인가능
my_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
"""

# The official file verbatim: placeholders in Korean.
KIS_SAMPLE = """\
my_app: "앱키"
my_sec: "앱키 시크릿"
paper_app: "모의투자 앱키"
paper_sec: "모의투자 앱키 시크릿"
my_htsid: "사용자 HTS ID"
my_acct_stock: "증권계좌 8자리"
my_paper_stock: "모의투자 증권계좌 8자리"
my_prod: "01" # 종합계좌
prod: "https://openapi.koreainvestment.com:9443" # 서비스
vps: "https://openapivts.koreainvestment.com:29443" # 모의투자 서비스
"""


def write(tmp_path: Path, text: str, **urls: str) -> Path:
    values = {
        "prod": "https://openapi.koreainvestment.com:9443",
        "vps": "https://openapivts.koreainvestment.com:29443",
        "real_secret": REAL_SECRET,
        "paper_secret": PAPER_SECRET,
        **urls,
    }
    path = tmp_path / "kis_devlp.yaml"
    path.write_text(text.format(**values) if "{" in text else text, encoding="utf-8")
    return path


def test_vps_gives_a_paper_config_with_the_real_pair(tmp_path: Path) -> None:
    config = KISConfig.from_kis_devlp(write(tmp_path, KIS_DEVLP), env="vps", _env_file=None)
    assert config.environment == "paper"
    assert config.kis_app_key == "PSpaperAppKey00000000000000000000002"
    assert isinstance(config.kis_app_secret, SecretStr)
    assert config.app_secret == PAPER_SECRET
    assert config.account_no == "50123456-01"
    assert config.hts_id == "hong123"
    assert config.rest_base_url == "https://openapivts.koreainvestment.com:29443"
    assert config.realtime_url == "ws://ops.koreainvestment.com:31000"
    assert config.has_real_key and config.real_app_key == "PSrealAppKey000000000000000000000001"
    assert isinstance(config.real_app_secret, SecretStr)
    real = config.real_key_config()
    assert real.app_secret == REAL_SECRET and real.account_no == "12345678-01"
    assert real.rest_base_url == "https://openapi.koreainvestment.com:9443"
    assert PAPER_SECRET not in repr(config) and REAL_SECRET not in repr(config)


@pytest.mark.parametrize("env", ["prod", "real"])
def test_prod_gives_the_real_config(tmp_path: Path, env: str) -> None:
    config = KISConfig.from_kis_devlp(write(tmp_path, KIS_DEVLP), env=env, _env_file=None)  # type: ignore[arg-type]
    assert config.environment == "real" and config.app_secret == REAL_SECRET
    assert config.account_no == "12345678-01"
    assert config.realtime_url == "ws://ops.koreainvestment.com:21000"
    assert not config.has_real_key


def test_product_picks_the_account_as_kis_samples_do(tmp_path: Path) -> None:
    path = write(tmp_path, KIS_DEVLP)
    assert KISConfig.from_kis_devlp(path, "vps", product="03", _env_file=None).account_no == (
        "60123456-03"
    )
    assert KISConfig.from_kis_devlp(path, "prod", product="08", _env_file=None).account_no == (
        "23456789-08"
    )
    with pytest.raises(KISConfigError, match="no paper account"):
        KISConfig.from_kis_devlp(path, "vps", product="22", _env_file=None)
    # Keyword overrides win over the file.
    overridden = KISConfig.from_kis_devlp(path, "vps", hts_id="other1", _env_file=None)
    assert overridden.hts_id == "other1"


def test_the_official_placeholders_are_refused_by_key_without_the_value(tmp_path: Path) -> None:
    with pytest.raises(KISConfigError) as caught:
        KISConfig.from_kis_devlp(write(tmp_path, KIS_SAMPLE), env="vps", _env_file=None)
    message = str(caught.value)
    assert "kis_devlp.yaml" in message and "paper_app" in message and "placeholder" in message
    assert "모의투자 앱키" not in message


def test_bad_values_name_the_file_and_key_never_the_value(tmp_path: Path) -> None:
    text = KIS_DEVLP.replace('my_paper_stock: "50123456"', 'my_paper_stock: "5012"')
    with pytest.raises(KISConfigError) as caught:
        KISConfig.from_kis_devlp(write(tmp_path, text), env="vps", _env_file=None)
    assert "my_paper_stock" in str(caught.value) and "kis_devlp.yaml" in str(caught.value)
    assert "5012" not in str(caught.value)
    text = KIS_DEVLP.replace('my_htsid: "hong123"', 'my_htsid: "hong 123!"')
    with pytest.raises(KISConfigError) as bad_hts:
        KISConfig.from_kis_devlp(write(tmp_path, text), env="vps", _env_file=None)
    assert "hts_id from my_htsid" in str(bad_hts.value)
    assert PAPER_SECRET not in str(bad_hts.value) and "hong 123!" not in str(bad_hts.value)
    with pytest.raises(KISConfigError, match="cannot read"):
        KISConfig.from_kis_devlp(tmp_path / "missing.yaml")
    with pytest.raises(KISConfigError, match="env must be"):
        KISConfig.from_kis_devlp(write(tmp_path, KIS_DEVLP), env="live")  # type: ignore[arg-type]


def test_the_flat_yaml_subset() -> None:
    text = "a: 01\nb: 'it''s'  # c\nc: \"x\\\"y\" # d\nd: plain#word # note\ne:\n"
    assert parse_flat_yaml(text, "f") == {
        "a": "01",
        "b": "it's",
        "c": 'x"y',
        "d": "plain#word",
        "e": "",
    }
    for bad, why in [
        ("a: 1\na: 2\n", "set twice"),
        ("a:\n  b: 1\n", "indented"),
        ("a: [1, 2]\n", "lists"),
        ('a: "open\n', "not closed"),
        ("just text\n", "not a key"),
    ]:
        with pytest.raises(KISConfigError, match=why) as caught:
            parse_flat_yaml(bad, "kis_devlp.yaml")
        assert "line" in str(caught.value)


def test_a_kis_devlp_paper_config_routes_real_only_quotes_to_its_prod_domain(
    tmp_path: Path, sandbox_factory: SandboxFactory
) -> None:
    paper = sandbox_factory("paper")
    real = sandbox_factory("real")
    text = KIS_DEVLP.replace("PSpaperAppKey00000000000000000000002", paper.app_key).replace(
        "PSrealAppKey000000000000000000000001", real.app_key
    )
    path = write(
        tmp_path,
        text,
        prod=real.base_url,
        vps=paper.base_url,
        paper_secret=paper.app_secret,
        real_secret=real.app_secret,
    )
    config = KISConfig.from_kis_devlp(path, env="vps", token_store="memory", _env_file=None)
    params = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
    with KISRestClient(config) as client:
        routed = client.make_request("GET", api_id="inquire-price-2", params=params)
        own = client.make_request("GET", api_id="inquire-price", params=params)
    assert routed["rt_cd"] == "0" and own["rt_cd"] == "0"
    assert real.stats()["requests"] == {
        "/uapi/domestic-stock/v1/quotations/inquire-price-2": 1,
        **{k: v for k, v in real.stats()["requests"].items() if k.startswith("/oauth2")},
    }
    assert "/uapi/domestic-stock/v1/quotations/inquire-price" in paper.stats()["requests"]
