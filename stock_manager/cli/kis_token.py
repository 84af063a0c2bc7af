"""``stock-manager kis token issue | status | revoke``.

The token itself is a credential: it is shown masked (first characters and a SHA-256
fingerprint) unless ``--reveal``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from stock_manager.adapters.broker.kis import AccessToken, KISRestClient
from stock_manager.adapters.broker.kis.redaction import fingerprint
from stock_manager.adapters.broker.kis.tokens import FileTokenStore, MemoryTokenStore

from .options import common_options
from .output import Output, mask, timestamps
from .session import Session

__all__ = ["token_app", "token_document"]

token_app = typer.Typer(
    help="Access tokens: issue one, see the cached one, revoke it.", no_args_is_help=True
)

_REVEAL_HELP = "Print only the token itself (a credential: keep it out of logs)."


def cache_location(client: KISRestClient) -> str:
    """Where ``client``'s token store keeps its access token, for people."""
    store = client.tokens.store
    if isinstance(store, FileTokenStore):
        return str(store.path_for(client.tokens.key))
    if isinstance(store, MemoryTokenStore):
        return "memory (this process only)"
    return repr(store)  # another backend (e.g. Redis) describes itself, without secrets


def token_document(
    client: KISRestClient, token: AccessToken | None, *, reveal: bool = False
) -> dict[str, Any]:
    """What is known about the app key's token, as JSON with stable keys."""
    now = datetime.now(UTC)
    config = client.config
    return {
        "environment": config.environment,
        "base_url": config.rest_base_url,
        "app_key_fingerprint": config.app_key_fingerprint,
        "token_store": config.token_store,
        "cache_location": cache_location(client),
        "cached": token is not None,
        "token": (token.value if reveal else mask(token.value)) if token else None,
        "token_fingerprint": fingerprint(token.value) if token else None,
        "issued_at": timestamps(token.issued_at if token else None),
        "expires_at": timestamps(token.expires_at if token else None),
        "expires_in_seconds": (
            max(0, int((token.expires_at - now).total_seconds())) if token else None
        ),
    }


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _show(output: Output, document: dict[str, Any], *, reveal: bool, title: str) -> None:
    if output.json_mode:
        output.json(document, reveal=reveal)
        return
    if reveal:
        # Alone on stdout, so that TOKEN=$(stock-manager kis token issue --reveal) works.
        output.raw(document["token"] or "")
        return
    rows: list[tuple[str, Any]] = [
        ("environment", f"{document['environment']}  {document['base_url']}"),
        ("app key", f"sha256 {document['app_key_fingerprint']}"),
        ("token store", f"{document['token_store']}: {document['cache_location']}"),
    ]
    if "reused" in document:
        rows.append(
            (
                "obtained",
                "reused the cached token (KIS not asked)"
                if document["reused"]
                else "newly issued by KIS",
            )
        )
    if document["cached"]:
        issued, expires = document["issued_at"], document["expires_at"]
        rows += [
            ("token", f"{document['token']}  (sha256 {document['token_fingerprint']})"),
            ("issued", f"{issued['kst']}  ({issued['local']})"),
            (
                "expires",
                f"{expires['kst']}  ({expires['local']}), "
                f"in {_duration(document['expires_in_seconds'])}",
            ),
        ]
    else:
        rows.append(("token", "none cached: `stock-manager kis token issue` gets one"))
    output.pairs(rows, title=title)


def _prepare(output: Output, reveal: bool, token: AccessToken | None) -> None:
    if token is not None and not reveal:
        output.add_secret(token.value)


@token_app.command("issue")
@common_options
def issue(*, reveal: Annotated[bool, typer.Option("--reveal", help=_REVEAL_HELP)] = False) -> None:
    """Get an access token: the cached one if still valid, else a new one from KIS.

    Says which ("obtained"; --json: "reused": true/false).
    """
    with Session.start() as session:
        config = session.config()
        with session.client(config) as client:
            # KIS issues one token per minute per app key (EGW00133); waiting may take a while.
            before = client.tokens.peek()
            with session.output.waiting("getting an access token (KIS allows one a minute)…"):
                token = client.access_token()
            document = token_document(client, token, reveal=reveal)
        # Reused: the cached token was still good, and KIS was not asked (nor its one-a-minute
        # issuance spent).
        document["reused"] = before is not None and before.value == token.value
        if before is not None:
            session.output.add_secret(before.value)
        _prepare(session.output, reveal, token)
        _show(
            session.output,
            document,
            reveal=reveal,
            title="access token",
        )


@token_app.command("status")
@common_options
def status(*, reveal: Annotated[bool, typer.Option("--reveal", help=_REVEAL_HELP)] = False) -> None:
    """Show the cached token (environment, key fingerprint, times, cache); never issues one."""
    with Session.start() as session:
        config = session.config()
        with session.client(config) as client:
            token = client.tokens.peek()  # never asks KIS for one
            document = token_document(client, token, reveal=reveal)
        _prepare(session.output, reveal, token)
        _show(
            session.output,
            document,
            reveal=reveal,
            title="access token",
        )


@token_app.command("revoke")
@common_options
def revoke() -> None:
    """Revoke the cached token at KIS and forget it (no-op when none is cached)."""
    with Session.start() as session:
        config = session.config()
        with session.client(config) as client, session.output.waiting("revoking the token…"):
            revoked = client.revoke()
        output = session.output
        if output.json_mode:
            output.json(
                {
                    "environment": config.environment,
                    "app_key_fingerprint": config.app_key_fingerprint,
                    "revoked": revoked,
                }
            )
        elif revoked:
            output.line("access token revoked")
        else:
            output.line("no cached access token: nothing to revoke")
