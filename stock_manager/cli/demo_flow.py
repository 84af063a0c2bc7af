"""The steps of ``stock-manager demo``: each one call (or a few) through :class:`KISRestClient`.

The same steps serve the embedded sandbox and ``--live``; which ones run is the command's choice
(read-only and hashkey steps always; orders and revoking only where that is safe).
"""

from __future__ import annotations

from typing import Any

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.bodies import balance_params, cash_order_body
from stock_manager.adapters.broker.kis.redaction import fingerprint

from .failures import AcceptedOrder, order_number
from .output import mask, timestamps
from .transcript import Transcript

__all__ = [
    "DEMO_SYMBOLS",
    "approval_step",
    "balance_step",
    "buy_steps",
    "hashkey_step",
    "price_step",
    "revoke_step",
    "token_step",
]

#: Stocks the sandbox demo buys, one share each, so the balance spans several pages.
DEMO_SYMBOLS = ("005930", "000660", "035420", "035720", "051910")


def _won(value: Any) -> str:
    try:
        return f"{int(float(str(value))):,} KRW"
    except ValueError:
        return f"{value} KRW"


def token_step(transcript: Transcript, client: KISRestClient) -> None:
    """Get the access token (issued once, then reused by every call)."""
    with transcript.step("access token", "POST /oauth2/tokenP") as step:
        token = client.access_token()
        transcript.output.add_secret(token.value)
        expires = timestamps(token.expires_at)
        step.result = {
            "token": mask(token.value),
            "token_fingerprint": fingerprint(token.value),
            "expires_at": expires,
        }
        step.say(f"token {mask(token.value)} (sha256 {fingerprint(token.value)})")
        step.say(f"expires {expires['kst']}; every later call reuses it")


def price_step(transcript: Transcript, client: KISRestClient, symbol: str) -> None:
    """Read one current price (read-only)."""
    tr_id = client.get_tr_id("inquire-price")
    with transcript.step("current price", f"GET inquire-price {symbol} (tr_id {tr_id})") as step:
        response = client.make_request(
            "GET",
            api_id="inquire-price",
            params={"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": symbol},
        )
        output = response.get("output") or {}
        step.result = {"symbol": symbol, "price": output.get("stck_prpr"), "tr_id": response.tr_id}
        step.say(f"{symbol}: {_won(output.get('stck_prpr'))} (change {output.get('prdy_ctrt')}%)")


def hashkey_step(transcript: Transcript, client: KISRestClient, body: dict[str, str]) -> None:
    """Ask for the hashkey of an order body, as the signed order below does by itself."""
    with transcript.step("hashkey", "POST /uapi/hashkey") as step:
        response = client.make_request("POST", "/uapi/hashkey", params=body)
        value = str(response["HASH"])
        step.result = {"hash_prefix": value[:16], "body": response.get("BODY")}
        step.say(f"HASH {value[:16]}… over {len(body)} body fields")


def buy_steps(
    transcript: Transcript, client: KISRestClient, config: KISConfig, symbols: tuple[str, ...]
) -> None:
    """Signed buy orders (hashkey=True): the first shown in full, the rest in one step."""
    tr_id = client.get_tr_id("order-cash", variant="buy")
    first, *rest = symbols
    call = f"POST order-cash {first} x1 market, hashkey=True (tr_id {tr_id})"
    # A live order is real: should showing it fail, the failure still gives its number.
    with AcceptedOrder() as accepted, transcript.step("signed buy order", call) as step:
        response = client.make_request(
            "POST",
            api_id="order-cash",
            variant="buy",
            params=cash_order_body(config, first, 1),
            hashkey=True,
        )
        accepted.reply = response
        output = response.get("output") or {}
        step.result = {"symbol": first, "odno": output.get("ODNO"), "time": output.get("ORD_TMD")}
        step.say(f"order {output.get('ODNO')} accepted at {output.get('ORD_TMD')} (HHMMSS, KST)")
    if not rest:
        return
    with transcript.step("more signed orders", f"{len(rest)} x POST order-cash") as step:
        # Each order is told as soon as KIS accepts it: should a later one fail, the step's
        # failure is shown below the numbers of the orders already placed.
        numbers: list[str | None] = []
        step.result = {"symbols": list(rest), "odno": numbers}
        for symbol in rest:
            response = client.make_request(
                "POST",
                api_id="order-cash",
                variant="buy",
                params=cash_order_body(config, symbol, 1),
                hashkey=True,
            )
            numbers.append(order_number(response))
            step.say(f"order {numbers[-1]} accepted: {symbol}")


def balance_step(transcript: Transcript, client: KISRestClient, config: KISConfig) -> None:
    """The account balance, following tr_cont across every page."""
    call = f"GET inquire-balance, tr_cont paging (tr_id {client.get_tr_id('inquire-balance')})"
    with transcript.step("balance across pages", call) as step:
        # collect(): the pages of one consistent pass, or an error, never a part as the whole.
        pages = client.iter_pages(
            "GET", api_id="inquire-balance", params=balance_params(config), max_pages=20
        ).collect()
        holdings = [row for page in pages for row in (page.get("output1") or [])]
        summary = (pages[-1].get("output2") or [{}])[0]
        step.result = {
            "pages": len(pages),
            "page_tr_cont": [page.tr_cont for page in pages],
            "holdings": [
                {"pdno": row.get("pdno"), "name": row.get("prdt_name"), "qty": row.get("hldg_qty")}
                for row in holdings
            ],
            "cash": summary.get("dnca_tot_amt"),
            "total": summary.get("tot_evlu_amt"),
        }
        marks = " → ".join(page.tr_cont or "-" for page in pages)
        step.say(f"{len(pages)} pages (tr_cont {marks}), {len(holdings)} holdings")
        for row in holdings:
            step.say(
                f"  {row.get('pdno')} {row.get('prdt_name')}: {row.get('hldg_qty')} share(s), "
                f"{_won(row.get('evlu_amt'))}"
            )
        step.say(
            f"cash {_won(summary.get('dnca_tot_amt'))}, total {_won(summary.get('tot_evlu_amt'))}"
        )


def approval_step(transcript: Transcript, client: KISRestClient) -> None:
    """A websocket approval key (shown masked)."""
    with transcript.step("approval key", "POST /oauth2/Approval") as step:
        key = client.approval_key()
        transcript.output.add_secret(key)
        step.result = {"approval_key": mask(key), "approval_key_fingerprint": fingerprint(key)}
        step.say(f"approval key {mask(key)} (sha256 {fingerprint(key)}), valid 24 hours")


def revoke_step(transcript: Transcript, client: KISRestClient) -> None:
    """Revoke the token at KIS."""
    with transcript.step("revoke", "POST /oauth2/revokeP") as step:
        revoked = client.revoke()
        step.result = {"revoked": revoked}
        step.say("token revoked: KIS now refuses it" if revoked else "no token was held")
