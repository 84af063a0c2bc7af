"""``kis tr-id`` and ``kis apis``: catalog look-ups, no server needed."""

from __future__ import annotations

from cli_helpers import json_of, run_bare

from stock_manager.adapters.broker.kis import get_catalog


def test_tr_id_lists_every_variant_when_none_is_given() -> None:
    result = run_bare("kis", "tr-id", "order-cash", "--real", "--json")
    assert result.exit_code == 0, result.output
    document = json_of(result)
    assert document["variants"] == {"sell": "TTTC0011U", "buy": "TTTC0012U"}
    assert document["tr_id"] is None
    assert document["environment"] == "real"
    assert document["path"] == "/uapi/domestic-stock/v1/trading/order-cash"


def test_tr_id_of_one_variant_on_paper() -> None:
    result = run_bare("kis", "tr-id", "v1_국내주식-001", "--paper", "--variant", "buy", "--json")
    assert result.exit_code == 0, result.output
    document = json_of(result)
    assert (document["alias"], document["tr_id"], document["variants"]) == (
        "order-cash",
        "VTTC0012U",
        None,
    )


def test_tr_id_follows_env_flag_and_variable() -> None:
    by_flag = run_bare("--env", "real", "kis", "tr-id", "inquire-balance", "--json")
    by_variable = run_bare(
        "kis", "tr-id", "inquire-balance", "--json", env={"KIS_ENVIRONMENT": "real"}
    )
    default = run_bare("kis", "tr-id", "inquire-balance", "--json")
    assert json_of(by_flag)["tr_id"] == "TTTC8434R"
    assert json_of(by_variable)["tr_id"] == "TTTC8434R"
    assert json_of(default)["tr_id"] == "VTTC8434R"  # paper is the default


def test_common_options_work_before_and_after_the_command() -> None:
    before = run_bare("--json", "kis", "tr-id", "inquire-price")
    after = run_bare("kis", "tr-id", "inquire-price", "--json")
    assert json_of(before) == json_of(after)
    # The command's own value wins over the root's.
    mixed = run_bare("--env", "real", "kis", "tr-id", "inquire-balance", "--env", "paper", "--json")
    assert json_of(mixed)["tr_id"] == "VTTC8434R"


def test_tr_id_table_for_people() -> None:
    result = run_bare("kis", "tr-id", "inquire-price")
    assert result.exit_code == 0
    assert "FHKST01010100" in result.stdout
    assert "inquire-price" in result.stdout


def test_tr_id_of_an_api_without_one() -> None:
    result = run_bare("kis", "tr-id", "Hashkey", "--json")
    assert result.exit_code == 0
    assert json_of(result)["tr_id"] is None
    assert "takes no TR_ID" in run_bare("kis", "tr-id", "hashkey").stdout


def test_unknown_api_is_a_usage_error_with_suggestions() -> None:
    result = run_bare("kis", "tr-id", "ordr-cash")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "order-cash" in result.stderr
    assert "Traceback" not in result.output


def test_paper_unsupported_api_is_a_usage_error() -> None:
    result = run_bare("kis", "tr-id", "order-credit", "--paper")
    assert result.exit_code == 2
    assert "모의투자" in result.stderr or "paper" in result.stderr


def test_unknown_variant_names_the_choices() -> None:
    result = run_bare("kis", "tr-id", "order-cash", "--variant", "hold")
    assert result.exit_code == 2
    assert "--variant sell|buy" in result.stderr


def test_apis_json_lists_the_catalog() -> None:
    result = run_bare("kis", "apis", "--json")
    assert result.exit_code == 0
    document = json_of(result)
    assert document["count"] == len(document["apis"]) >= 10
    by_alias = {api["alias"]: api for api in document["apis"]}
    assert by_alias["order-cash"]["order"] is True
    assert by_alias["order-cash"]["tr_id"]["paper"] == {"sell": "VTTC0011U", "buy": "VTTC0012U"}
    assert by_alias["hashkey"]["tr_id"] is None
    assert by_alias["order-credit"]["paper_supported"] is False
    assert set(by_alias["inquire-balance"]) == {
        "api_id",
        "alias",
        "aliases",
        "name",
        "category",
        "transport",
        "method",
        "path",
        "tr_id",
        "deprecated_tr_ids",
        "paper_supported",
        "needs_token",
        "order",
        "rate_limited",
        "paged",
        "page",
    }


def test_apis_search_and_category() -> None:
    found = json_of(run_bare("kis", "apis", "--search", "balance", "--json"))["apis"]
    assert found
    assert all("balance" in (api["alias"] + api["path"]).lower() for api in found)
    oauth = json_of(run_bare("kis", "apis", "--category", "OAuth", "--json"))["apis"]
    assert {api["alias"] for api in oauth} >= {"token", "revoke", "hashkey", "approval"}
    table = run_bare("kis", "apis", "--search", "order-cash")
    assert table.exit_code == 0
    assert "VTTC0012U" in table.stdout
    assert "no API matches" in run_bare("kis", "apis", "--search", "zzz-nothing").stdout


def test_apis_lists_every_api_of_the_catalog() -> None:
    document = json_of(run_bare("kis", "apis", "--json"))
    assert document["count"] == len(get_catalog())
    assert len({api["api_id"] for api in document["apis"]}) == len(get_catalog())


def test_apis_text_searches_korean_and_english() -> None:
    korean = json_of(run_bare("kis", "apis", "잔고", "--json"))["apis"]
    assert "inquire-balance" in {api["alias"] for api in korean}
    assert all("잔고" in api["name"] or "잔고" in api["api_id"] for api in korean)
    english = json_of(run_bare("kis", "apis", "balance", "--json"))["apis"]
    assert "inquire-balance" in {api["alias"] for api in english}
    # The positional TEXT and --search are the same search.
    assert english == json_of(run_bare("kis", "apis", "--search", "balance", "--json"))["apis"]


def test_apis_show_prints_the_reference_page() -> None:
    result = run_bare("kis", "apis", "show", "order-cash")
    assert result.exit_code == 0, result.output
    page = result.stdout
    for text in ("주식주문(현금)", "VTTC0012U", "TTTC0011U", "PDNO", "ORD_DVSN", "make_request"):
        assert text in page, text
    assert "```" not in page, "the Markdown should be rendered, not printed raw"
    spec = get_catalog().get("order-cash")
    for param in spec.params:
        assert param.name in page


def test_apis_show_by_korean_name_and_json() -> None:
    by_name = run_bare("kis", "apis", "show", "주식잔고조회", "--json")
    assert by_name.exit_code == 0, by_name.output
    document = json_of(by_name)
    assert document["api"]["alias"] == "inquire-balance"
    assert document["markdown"].startswith("# 주식잔고조회 (`inquire-balance`)")


def test_apis_show_unknown_id_suggests_in_one_line() -> None:
    result = run_bare("kis", "apis", "show", "ordr-cash")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "order-cash" in result.stderr
    assert "Traceback" not in result.output


def test_apis_show_needs_exactly_one_id() -> None:
    for args in (["show"], ["show", "order-cash", "inquire-price"], ["balance", "order"]):
        result = run_bare("kis", "apis", *args)
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1, args
        assert "apis show ID" in result.stderr
