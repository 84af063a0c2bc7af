"""iter_pages follows each API's paging form, restarts on SYDB0050 and says when it is partial.

The sandbox serves ``tr_cont`` paging (tests/client/test_sandbox_client.py); the other forms and
the restart are served here by a raw server answering a scripted sequence of replies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISRestClient
from stock_manager.adapters.broker.kis.catalog import Catalog, get_catalog
from stock_manager.adapters.broker.kis.catalog.models import Paging
from stock_manager.adapters.broker.kis.errors import KISAPIError, KISProtocolError, KISUsageError
from stock_manager.adapters.broker.kis.protocol import KISResponse, PageCursor, PreparedRequest
from tests.reliability.raw_server import RawServer, Reply, token_reply

PATH = get_catalog().get("inquire-balance").path


def _reply(body: dict[str, Any], tr_cont: str = "") -> KISResponse:
    return KISResponse({"rt_cd": "0", **body}, status_code=200, headers={"tr_cont": tr_cont})


# -- the sans-I/O cursor, form by form -------------------------------------------------------


def test_tr_cont_echoes_the_200_keys() -> None:
    paging = Paging("tr_cont", ("CTX_AREA_FK200", "CTX_AREA_NK200"))
    cursor = PageCursor({"ctx_area_fk200": ""}, 5, paging)
    assert cursor.advance(_reply({"ctx_area_fk200": "F2", "ctx_area_nk200": "N2"}, "M"))
    assert cursor.params == {"CTX_AREA_FK200": "F2", "CTX_AREA_NK200": "N2"}
    assert cursor.tr_cont == "N"
    assert not cursor.advance(_reply({}, "D")) and cursor.complete


def test_keyb_sends_the_replys_key_without_tr_cont() -> None:
    cursor = PageCursor({"KEYB": ""}, 5, Paging("keyb", ("KEYB",)))
    assert cursor.advance(_reply({"output1": {"keyb": "K1"}}))
    assert (cursor.params["KEYB"], cursor.tr_cont) == ("K1", "")
    assert not cursor.advance(_reply({"output1": {"keyb": " "}})) and cursor.complete


def test_next_keyb_sets_next_and_stops_on_next_not_1() -> None:
    cursor = PageCursor({}, 5, Paging("next_keyb", ("NEXT", "KEYB")))
    assert cursor.params == {"NEXT": "", "KEYB": ""}
    assert cursor.advance(_reply({"output1": {"next": "1", "keyb": "20241014140100"}}))
    assert cursor.params == {"NEXT": "1", "KEYB": "20241014140100"}
    assert not cursor.advance(_reply({"output1": {"next": "0"}})) and cursor.complete


def test_index_key_asks_q_then_p() -> None:
    cursor = PageCursor({"SRS_CD": "BRNQ24"}, 5, Paging("index_key", ("INDEX_KEY", "QRY_TP")))
    assert cursor.params["QRY_TP"] == "Q" and cursor.params["INDEX_KEY"] == ""
    assert cursor.advance(_reply({"output2": {"index_key": "20231208       246"}}))
    assert cursor.params["QRY_TP"] == "P" and cursor.params["INDEX_KEY"] == "20231208       246"


def test_more_without_a_new_key_stops_as_truncated() -> None:
    cursor = PageCursor({"KEYB": ""}, 5, Paging("keyb", ("KEYB",)))
    assert cursor.advance(_reply({"keyb": "K1"}))
    assert not cursor.advance(_reply({"keyb": "K1"}))  # the same key: the same page again
    assert not cursor.complete


# -- over HTTP: a raw server answering a script ----------------------------------------------


class _Script(dict[str, Reply]):
    """RawServer's reply table, answering ``PATH`` with the next reply of a script."""

    def __init__(self, script: list[Reply]) -> None:
        super().__init__({"/oauth2/tokenP": token_reply()})
        self.script = script

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        if path == PATH and self.script:
            return self.script.pop(0)
        return super().get(path, default)


class _Recording(KISRestClient):
    """Keeps every request it sends, to check what each page asked for."""

    sent: list[PreparedRequest]

    def send(self, request: PreparedRequest, *, deadline: float | None = None) -> KISResponse:
        self.sent.append(request)
        return super().send(request, deadline=deadline)


def _page(body: dict[str, Any], tr_cont: str = "") -> Reply:
    document = {"rt_cd": "0", "msg_cd": "MCA00000", "msg1": "ok", **body}
    return Reply.json(200, document, tr_cont=tr_cont) if tr_cont else Reply.json(200, document)


CHANGED = Reply.json(
    200, {"rt_cd": "7", "msg_cd": "SYDB0050", "msg1": "조회이후에 자료가 변경되었습니다"}
)


@pytest.fixture
def scripted(tmp_path: Any) -> Iterator[Any]:
    servers: list[RawServer] = []

    def start(script: list[Reply], form: str, keys: tuple[str, ...]) -> _Recording:
        server = RawServer()
        server.replies = _Script(script)
        servers.append(server.__enter__())
        spec = dataclasses.replace(get_catalog().get("inquire-balance"), paging=Paging(form, keys))
        config = KISConfig(
            _env_file=None, kis_app_key="A" * 36, kis_app_secret="S" * 180,
            base_url=server.base_url, account_no="12345678-01", token_store="memory",
            token_cache_dir=tmp_path / "tokens", max_retries=0, timeout=5,
        )  # fmt: skip
        client = _Recording(config, catalog=Catalog([spec]))
        client.sent = []
        return client

    yield start
    for server in servers:
        server.close()


BALANCE = {
    "INQR_DVSN": "02", "AFHR_FLPR_YN": "N", "UNPR_DVSN": "01", "FUND_STTL_ICLD_YN": "N",
    "FNCG_AMT_AUTO_RDPT_YN": "N", "PRCS_DVSN": "00",
}  # fmt: skip


def _query(request: PreparedRequest) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))


def test_keyb_pages_over_http(scripted: Any) -> None:
    script = [_page({"output1": {"keyb": "K2"}, "output2": [1]}), _page({"output2": [2]})]
    with scripted(script, "keyb", ("KEYB",)) as client:
        pages = client.iter_pages("GET", api_id="inquire-balance", params=BALANCE)
        rows = [row for page in pages.collect() for row in page["output2"]]
        assert rows == [1, 2] and not pages.truncated
        assert [_query(r).get("KEYB") for r in client.sent] == [None, "K2"]
        assert [r.headers["tr_cont"] for r in client.sent] == ["", ""]


def test_sydb0050_restarts_from_the_first_page(scripted: Any) -> None:
    first = _page({"ctx_area_fk100": "F", "ctx_area_nk100": "N", "output1": ["old"]}, "M")
    again = _page({"ctx_area_fk100": "F", "ctx_area_nk100": "N", "output1": ["a"]}, "M")
    script = [first, CHANGED, again, _page({"output1": ["b"]}, "D")]
    keys = ("CTX_AREA_FK100", "CTX_AREA_NK100")
    with scripted(script, "tr_cont", keys) as client:
        pages = client.iter_pages("GET", api_id="inquire-balance", params=BALANCE)
        rows = [row for page in pages.collect() for row in page["output1"]]
        assert rows == ["a", "b"]  # the stale first pass is dropped
        assert pages.restarts == 1 and not pages.truncated
        assert [r.headers["tr_cont"] for r in client.sent] == ["", "N", "", "N"]
        assert _query(client.sent[2]).get("CTX_AREA_NK100", "") == ""


def test_restarts_are_bounded_then_the_error_is_raised(scripted: Any) -> None:
    more = _page({"ctx_area_nk100": "N", "output1": []}, "M")
    script = [more, CHANGED, more, CHANGED]
    with scripted(script, "tr_cont", ("CTX_AREA_FK100", "CTX_AREA_NK100")) as client:
        pages = client.iter_pages("GET", api_id="inquire-balance", params=BALANCE, max_restarts=1)
        seen = []
        with pytest.raises(KISAPIError, match="SYDB0050"):
            for page in pages:
                seen.append(page)
        assert len(seen) == 2 and pages.truncated and len(client.sent) == 4


def test_a_break_leaves_the_pages_truncated(scripted: Any) -> None:
    script = [_page({"output1": {"keyb": "K2"}}), _page({})]
    with scripted(script, "keyb", ("KEYB",)) as client:
        pages = client.iter_pages("GET", api_id="inquire-balance", params=BALANCE)
        for _ in pages:
            break
        assert pages.truncated and len(client.sent) == 1


def test_collect_refuses_to_return_a_part_as_the_whole(scripted: Any) -> None:
    script = [_page({"keyb": "K1"}), _page({"keyb": "K1"})]
    with scripted(script, "keyb", ("KEYB",)) as client:
        pages = client.iter_pages("GET", api_id="inquire-balance", params={**BALANCE, "KEYB": ""})
        with pytest.raises(KISProtocolError, match="a part only"):
            pages.collect()
        assert pages.truncated


def test_collect_after_reading_a_page_refuses_instead_of_dropping_it(scripted: Any) -> None:
    script = [_page({"output1": {"keyb": "K2"}, "output2": [1]}), _page({"output2": [2]})]
    with scripted(script, "keyb", ("KEYB",)) as client:
        pages = client.iter_pages("GET", api_id="inquire-balance", params=BALANCE)
        assert next(pages)["output2"] == [1]
        with pytest.raises(KISUsageError, match="already read"):
            pages.collect()  # it would have returned [2] alone, as if it were everything
        assert len(client.sent) == 1


def test_a_cursor_paged_api_is_refused_before_sending(scripted: Any) -> None:
    with scripted([], "cursor", ("FID_INPUT_HOUR_1",)) as client:
        with pytest.raises(KISUsageError, match="FID_INPUT_HOUR_1"):
            client.iter_pages("GET", api_id="inquire-balance", params=BALANCE)
        assert client.sent == []


def test_keyb_missing_from_the_reply_falls_back_to_the_header() -> None:
    # Where KIS's layout shows no keyb: a reply saying "more" in its header is not whole.
    cursor = PageCursor(BALANCE, 10, Paging("keyb", ("KEYB",)))
    assert not cursor.advance(_reply({"output2": [1]}, "M"))  # no key to go on with
    assert not cursor.complete
    last = PageCursor(BALANCE, 10, Paging("keyb", ("KEYB",)))
    assert not last.advance(_reply({"output2": [1]}, "D"))
    assert last.complete
