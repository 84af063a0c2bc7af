"""``kis tr-id`` and ``kis apis``: catalog look-ups, no server needed."""

from __future__ import annotations

from cli_helpers import json_of, run_bare


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
        "name",
        "category",
        "method",
        "path",
        "tr_id",
        "paper_supported",
        "needs_token",
        "order",
        "rate_limited",
        "paged",
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
