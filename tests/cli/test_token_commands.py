"""``kis token issue | status | revoke`` against the sandbox, across separate runs."""

from __future__ import annotations

from datetime import UTC, datetime

from cli_helpers import CLI, json_of

DOCUMENT_KEYS = {
    "environment",
    "base_url",
    "app_key_fingerprint",
    "token_store",
    "cache_location",
    "cached",
    "token",
    "token_fingerprint",
    "issued_at",
    "expires_at",
    "expires_in_seconds",
}


def test_issue_then_status_then_revoke(cli: CLI) -> None:
    issued = cli("kis", "token", "issue", "--json")
    assert issued.exit_code == 0, issued.output
    document = json_of(issued)
    assert set(document) == DOCUMENT_KEYS | {"reused"}
    assert document["reused"] is False
    assert document["cached"] is True
    assert document["environment"] == "paper"
    assert document["token"].endswith("…")  # masked
    assert cli.sandbox.app_key not in issued.stdout  # only its fingerprint
    expires = datetime.fromisoformat(document["expires_at"]["utc"])
    assert 23 * 3600 < (expires - datetime.now(UTC)).total_seconds() <= 24 * 3600
    assert document["expires_at"]["kst"].endswith("KST")
    assert cli.sandbox.stats()["tokens_issued"] == 1

    # A separate run finds it in the file cache, without asking KIS again.
    status = cli("kis", "token", "status", "--json")
    assert status.exit_code == 0, status.output
    seen = json_of(status)
    assert seen["cached"] is True
    assert seen["token_fingerprint"] == document["token_fingerprint"]
    assert seen["cache_location"].startswith(str(cli.cache_dir))
    assert cli.sandbox.stats()["tokens_issued"] == 1

    again = cli("kis", "token", "issue", "--json")
    assert json_of(again)["token_fingerprint"] == document["token_fingerprint"]
    assert cli.sandbox.stats()["tokens_issued"] == 1

    revoked = cli("kis", "token", "revoke", "--json")
    assert revoked.exit_code == 0, revoked.output
    assert json_of(revoked)["revoked"] is True
    assert cli.sandbox.stats()["tokens_revoked"] == 1

    after = cli("kis", "token", "status", "--json")
    assert json_of(after)["cached"] is False
    nothing = cli("kis", "token", "revoke")
    assert nothing.exit_code == 0
    assert "nothing to revoke" in nothing.stdout
    assert cli.sandbox.stats()["tokens_revoked"] == 1


def test_status_for_people_never_issues(cli: CLI) -> None:
    result = cli("kis", "token", "status")
    assert result.exit_code == 0, result.output
    assert "none cached" in result.stdout
    assert str(cli.cache_dir) in result.stdout
    assert cli.sandbox.stats()["tokens_issued"] == 0


def test_issue_for_people_shows_times_and_a_masked_token(cli: CLI) -> None:
    result = cli("kis", "token", "issue")
    assert result.exit_code == 0, result.output
    for label in ("environment", "app key", "token store", "issued", "expires"):
        assert label in result.stdout
    assert "KST" in result.stdout
    assert "eyJ" in result.stdout  # the first characters of the JWT, then "…"


def test_reveal_prints_the_token(cli: CLI) -> None:
    revealed = cli("kis", "token", "issue", "--json", "--reveal", reveal=True)
    token = json_of(revealed)["token"]
    assert token.count(".") == 2  # a whole JWT
    cli.learn(token)
    plain = cli("kis", "token", "status")  # checked: must not show it
    assert plain.exit_code == 0
    alone = cli("kis", "token", "status", "--reveal", reveal=True)
    assert alone.stdout == token + "\n"


def test_memory_store_is_reported_as_such(cli: CLI) -> None:
    result = cli("kis", "token", "issue", "--json", env={"KIS_TOKEN_STORE": "memory"})
    assert result.exit_code == 0
    assert json_of(result)["token_store"] == "memory"
    assert "memory" in json_of(result)["cache_location"]
