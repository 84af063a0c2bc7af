"""The realtime sans-I/O core with plain frames: no socket, no thread, no clock."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from stock_manager.adapters.broker.kis.catalog import get_catalog
from stock_manager.adapters.broker.kis.errors import (
    KISAppKeyInUseError,
    KISApprovalKeyError,
    KISNoticeDecryptError,
    KISPaperTradingUnsupportedError,
    KISRealtimePaperUnsupportedError,
    KISRealtimeProtocolError,
    KISRealtimeRefusedError,
    KISRecordValueError,
    KISSubscriptionLimitError,
    KISUnknownAPIError,
    KISUsageError,
)
from stock_manager.adapters.broker.kis.realtime import (
    ControlReply,
    ErrorEvent,
    Event,
    NoticeCipher,
    Pong,
    RealtimeProtocol,
    Record,
)

APPROVAL = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
AES_KEY = "abcdefghijklmnopqrstuvwxyz012345"  # 32 characters, as KIS's output.key
AES_IV = "0123456789abcdef"  # 16 characters, as KIS's output.iv
HTS_ID = "myhtsid"


def width(tr: str) -> int:
    return len(get_catalog().get(tr).response[0].fields)


def record_values(tr: str, first: str, n: int | None = None, price: str = "71000") -> list[str]:
    names = [f.name for f in get_catalog().get(tr).response[0].fields]
    values = [f"{name.lower()}-{first}" for name in names]
    values[0] = first
    if "STCK_PRPR" in names:
        values[names.index("STCK_PRPR")] = price
    n = len(names) if n is None else n
    return (values + [f"x{i}" for i in range(n - len(values))])[:n]


def data_frame(tr: str, records: list[list[str]], flag: str = "0") -> str:
    payload = "^".join("^".join(r) for r in records)
    return f"{flag}|{tr}|{len(records):03d}|{payload}"


def reply(
    tr_id: str, tr_key: str, msg_cd: str, msg1: str, rt_cd: str = "1", *, output: Any = None
) -> str:
    body: dict[str, Any] = {"rt_cd": rt_cd, "msg_cd": msg_cd, "msg1": msg1}
    if output is not None:
        body["output"] = output
    return json.dumps({"header": {"tr_id": tr_id, "tr_key": tr_key, "encrypt": "N"}, "body": body})


def encrypt(text: str, key: str = AES_KEY, iv: str = AES_IV) -> str:
    padder = padding.PKCS7(128).padder()
    data = padder.update(text.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(key.encode()), modes.CBC(iv.encode())).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def only(events: list[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def records_of(events: list[Event]) -> list[Record]:
    assert all(isinstance(e, Record) for e in events), events
    return [e for e in events if isinstance(e, Record)]


def state(rt: RealtimeProtocol, tr_id: str, tr_key: str) -> str:
    return rt.registrations[(tr_id, tr_key)].state


@pytest.fixture
def real() -> RealtimeProtocol:
    return RealtimeProtocol(APPROVAL, paper=False)


@pytest.fixture
def paper() -> RealtimeProtocol:
    return RealtimeProtocol(APPROVAL, paper=True)


# --- data frames -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3, 12])
def test_every_record_of_a_multi_record_frame_is_delivered(
    real: RealtimeProtocol, count: int
) -> None:
    symbols = [f"{i:06d}" for i in range(count)]
    frame = data_frame(
        "H0STCNT0",
        [record_values("H0STCNT0", s, price=str(70000 + i)) for i, s in enumerate(symbols)],
    )
    records = records_of(real.receive(frame))
    assert [r.key for r in records] == symbols
    assert [r["STCK_PRPR"] for r in records] == [str(70000 + i) for i in range(count)]
    assert [r.int("stck_prpr") for r in records] == [70000 + i for i in range(count)]
    assert all(r.tr_id == "H0STCNT0" and len(r.values) == width("H0STCNT0") for r in records)


def test_the_count_is_an_integer_not_a_width(real: RealtimeProtocol) -> None:
    values = record_values("H0STCNT0", "005930")
    (record,) = real.receive(f"0|H0STCNT0|1|{'^'.join(values)}")
    assert isinstance(record, Record) and record.key == "005930"


def test_wider_records_keep_their_extra_fields(real: RealtimeProtocol) -> None:
    # H0STASP0: KIS documents 59 fields and streams 62 (the catalog has 62); a later widening to
    # 65 must still parse, extras kept.
    assert width("H0STASP0") == 62
    rows = [record_values("H0STASP0", s, 65) for s in ("005930", "000660")]
    records = records_of(real.receive(data_frame("H0STASP0", rows)))
    assert [r.key for r in records] == ["005930", "000660"]
    assert all(r.extra == ("x0", "x1", "x2") for r in records)
    assert records[0]["KMID_CLS_CODE"] == "kmid_cls_code-005930"
    assert records[0].values == tuple(rows[0])
    assert "extra" in repr(records[0])


def test_records_of_the_documented_width_parse_with_names_for_their_fields(
    real: RealtimeProtocol,
) -> None:
    # KIS documents H0STASP0 with 59 fields and streams 62: both widths are well formed.
    rows = [record_values("H0STASP0", s, 59) for s in ("005930", "000660")]
    records = real.receive(data_frame("H0STASP0", rows))
    assert [r.key for r in records if isinstance(r, Record)] == ["005930", "000660"]
    first = records[0]
    assert isinstance(first, Record)
    assert len(first.names) == 59 and first.extra == ()
    assert "KMID_PRC" not in first and first.get("KMID_PRC") is None
    assert first["STCK_DEAL_CLS_CODE"] == rows[0][58]


def test_narrower_records_are_an_error_event_not_an_exception(real: RealtimeProtocol) -> None:
    rows = [record_values("H0STASP0", s, 58) for s in ("005930", "000660")]
    (event,) = real.receive(data_frame("H0STASP0", rows))
    assert isinstance(event, ErrorEvent)
    assert isinstance(event.error, KISRealtimeProtocolError)
    assert "58" in str(event.error) and "59" in str(event.error)


def test_fields_that_do_not_cut_evenly_are_an_error_event(real: RealtimeProtocol) -> None:
    values = record_values("H0STCNT0", "005930") * 2 + ["stray"]
    (event,) = real.receive(f"0|H0STCNT0|002|{'^'.join(values)}")
    assert isinstance(event, ErrorEvent) and "equal width" in str(event.error)


@pytest.mark.parametrize(
    "frame",
    [
        "0|H0STCNT0|abc|1^2",
        "0|H0STCNT0|000|",
        "0|H0STCNT0",
        "2|H0STCNT0|001|x",
        "hello",
        "{not json",
    ],
)
def test_malformed_frames_are_error_events(real: RealtimeProtocol, frame: str) -> None:
    (event,) = real.receive(frame)
    assert isinstance(event, ErrorEvent)
    assert isinstance(event.error, KISRealtimeProtocolError)


def test_a_pipe_inside_the_payload_stays_in_the_payload(real: RealtimeProtocol) -> None:
    values = record_values("H0STCNT0", "005930")
    values[5] = "a|b"
    (record,) = real.receive(data_frame("H0STCNT0", [values]))
    assert isinstance(record, Record) and record.values[5] == "a|b"


def test_invalid_utf8_bytes_are_decoded_leniently(real: RealtimeProtocol) -> None:
    values = record_values("H0STCNT0", "005930")
    raw = data_frame("H0STCNT0", [values]).encode().replace(b"stck_hgpr", b"stck\xff\xfehgpr")
    (record,) = real.receive(raw)
    assert isinstance(record, Record)
    assert record["STCK_HGPR"].startswith("stck\ufffd")


def test_unknown_tr_records_keep_every_value(real: RealtimeProtocol) -> None:
    (record,) = real.receive("0|H0ZZZZZ0|001|a^b^c")
    assert isinstance(record, Record)
    assert record.key == "a" and record.extra == ("a", "b", "c") and record.as_dict() == {}


def test_record_reads_by_name_and_converts_on_demand(real: RealtimeProtocol) -> None:
    values = record_values("H0STCNT0", "005930")
    names = [f.name for f in get_catalog().get("H0STCNT0").response[0].fields]
    values[names.index("PRDY_CTRT")] = "-1.25"
    values[names.index("PRDY_VRSS")] = "-0900"
    values[names.index("ACML_VOL")] = ""
    (record,) = real.receive(data_frame("H0STCNT0", [values]))
    assert isinstance(record, Record)
    assert str(record.decimal("PRDY_CTRT")) == "-1.25"
    assert record.int("prdy_vrss") == -900
    assert record.get("NO_SUCH_FIELD") is None and record.get("NO_SUCH_FIELD", "d") == "d"
    assert "STCK_PRPR" in record and "NO_SUCH_FIELD" not in record
    assert record.as_dict()["MKSC_SHRN_ISCD"] == "005930"
    with pytest.raises(KISRecordValueError, match="ACML_VOL is empty"):
        record.int("ACML_VOL")
    with pytest.raises(KISRecordValueError, match="not an integer"):
        record.int("STCK_CNTG_HOUR")
    with pytest.raises(KISRecordValueError, match="not a number"):
        record.decimal("STCK_CNTG_HOUR")
    with pytest.raises(KeyError):
        record["NO_SUCH_FIELD"]


# --- keep-alive and control replies ------------------------------------------------------------


def test_pingpong_is_answered_with_the_same_text(real: RealtimeProtocol) -> None:
    ping = '{"header": {"tr_id": "PINGPONG", "datetime": "20260105093000"}}'
    assert real.receive(ping) == [Pong(ping)]
    assert real.receive(ping.encode()) == [Pong(ping)]


def test_subscribe_frame_and_success_reply(real: RealtimeProtocol) -> None:
    frame = json.loads(real.subscribe("realtime-stock-ccnl-krx", "005930"))
    assert frame == {
        "header": {
            "approval_key": APPROVAL,
            "custtype": "P",
            "tr_type": "1",
            "content-type": "utf-8",
        },
        "body": {"input": {"tr_id": "H0STCNT0", "tr_key": "005930"}},
    }
    assert state(real, "H0STCNT0", "005930") == "pending"
    (event,) = real.receive(reply("H0STCNT0", "005930", "OPSP0000", "SUBSCRIBE SUCCESS", "0"))
    assert isinstance(event, ControlReply) and event.kind == "subscribed" and event.ok
    assert real.registrations[("H0STCNT0", "005930")].state == "active"


def test_already_in_subscribe_is_harmless(real: RealtimeProtocol) -> None:
    real.subscribe("H0STCNT0", "005930")
    events = real.receive(reply("H0STCNT0", "005930", "OPSP0002", "ALREADY IN SUBSCRIBE"))
    assert not only(events, ErrorEvent)
    (event,) = events
    assert isinstance(event, ControlReply) and event.kind == "already" and event.ok
    assert real.registrations[("H0STCNT0", "005930")].state == "active"


def test_unsubscribe_success_and_not_found(real: RealtimeProtocol) -> None:
    real.subscribe("H0STCNT0", "005930")
    real.receive(reply("H0STCNT0", "005930", "OPSP0000", "SUBSCRIBE SUCCESS", "0"))
    frame = json.loads(real.unsubscribe("H0STCNT0", "005930"))
    assert frame["header"]["tr_type"] == "2"
    assert real.registrations[("H0STCNT0", "005930")].state == "releasing"
    events = real.receive(reply("H0STCNT0", "005930", "OPSP0001", "UNSUBSCRIBE SUCCESS", "0"))
    assert not only(events, ErrorEvent) and ("H0STCNT0", "005930") not in real.registrations
    real.unsubscribe("H0STCNT0", "000660")  # never registered: KIS says not found, harmlessly
    events = real.receive(reply("H0STCNT0", "000660", "OPSP0003", "UNSUBSCRIBE ERROR(not found!)"))
    (event,) = events
    assert isinstance(event, ControlReply) and event.kind == "not-found" and event.ok


def test_server_cap_rolls_the_pair_back(real: RealtimeProtocol) -> None:
    real.subscribe("H0STCNT0", "005930")
    events = real.receive(reply("H0STCNT0", "005930", "OPSP0008", "MAX SUBSCRIBE OVER"))
    (error,) = only(events, ErrorEvent)
    assert isinstance(error.error, KISSubscriptionLimitError) and error.error.code == "OPSP0008"
    assert ("H0STCNT0", "005930") not in real.registrations


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("OPSP0007", "SUBSCRIBE INTERNAL ERROR"),
        ("OPSP0009", "SUBSCRIBE ERROR : mci send failed"),
        ("OPSP8991", "SUBSCRIBE ERROR : invalid tr_id"),
        ("OPSP8992", "SUBSCRIBE ERROR : invalid tr_key"),
        ("OPSP8997", "JSON PARSING ERROR : invalid tr_type"),
        ("OPSP8998", "JSON PARSING ERROR : invalid custtype"),
        ("OPSP9990", "JSON PARSING ERROR : tr_key not found"),
        ("OPSP9999", "JSON PARSING ERROR : invalid json format"),
    ],
)
def test_other_refusals_are_typed_error_events(
    real: RealtimeProtocol, code: str, text: str
) -> None:
    real.subscribe("H0STCNT0", "005930")
    events = real.receive(reply("H0STCNT0", "005930", code, text))
    (error,) = only(events, ErrorEvent)
    assert type(error.error) is KISRealtimeRefusedError
    assert error.error.code == code and text in str(error.error)
    assert isinstance(error.reply, ControlReply) and not error.reply.ok
    assert ("H0STCNT0", "005930") not in real.registrations


def test_a_refused_release_leaves_the_pair_registered(real: RealtimeProtocol) -> None:
    real.subscribe("H0STCNT0", "005930")
    real.receive(reply("H0STCNT0", "005930", "OPSP0000", "SUBSCRIBE SUCCESS", "0"))
    real.unsubscribe("H0STCNT0", "005930")
    real.receive(reply("H0STCNT0", "005930", "OPSP0007", "SUBSCRIBE INTERNAL ERROR"))
    assert real.registrations[("H0STCNT0", "005930")].state == "active"


def test_invalid_approval_keeps_the_pair_pending_and_never_shows_the_key(
    real: RealtimeProtocol,
) -> None:
    real.subscribe("H0STCNT0", "005930")
    events = real.receive(reply("H0STCNT0", "005930", "OPSP0011", f"invalid approval : {APPROVAL}"))
    (error,) = only(events, ErrorEvent)
    assert isinstance(error.error, KISApprovalKeyError)
    assert APPROVAL not in str(error.error) and APPROVAL not in repr(events)
    assert real.registrations[("H0STCNT0", "005930")].state == "pending"
    (again,) = real.retry_pending()
    assert json.loads(again)["body"]["input"] == {"tr_id": "H0STCNT0", "tr_key": "005930"}


def test_app_key_in_use_is_a_typed_session_error(real: RealtimeProtocol) -> None:
    real.subscribe("H0STCNT0", "005930")
    events = real.receive(reply("(null)", "005930", "OPSP8996", "ALREADY IN USE appkey", "9"))
    (error,) = only(events, ErrorEvent)
    assert isinstance(error.error, KISAppKeyInUseError) and "backoff" in str(error.error)
    assert real.registrations[("H0STCNT0", "005930")].state == "pending"


def test_a_json_frame_without_msg_cd_is_an_error_event(real: RealtimeProtocol) -> None:
    (event,) = real.receive('{"header": {"tr_id": "H0STCNT0"}, "body": {}}')
    assert isinstance(event, ErrorEvent) and isinstance(event.error, KISRealtimeProtocolError)


# --- notices -----------------------------------------------------------------------------------


def notice_reply(tr_id: str) -> str:
    return reply(
        tr_id, HTS_ID, "OPSP0000", "SUBSCRIBE SUCCESS", "0", output={"iv": AES_IV, "key": AES_KEY}
    )


def test_encrypted_notice_round_trip(paper: RealtimeProtocol) -> None:
    frame = json.loads(paper.subscribe("H0STCNI0", HTS_ID))  # the real TR, on paper
    assert frame["body"]["input"]["tr_id"] == "H0STCNI9"
    events = paper.receive(notice_reply("H0STCNI9"))
    (control,) = events
    assert isinstance(control, ControlReply) and control.has_cipher
    assert AES_KEY not in repr(control) and AES_IV not in repr(control)
    rows = [record_values("H0STCNI0", HTS_ID), record_values("H0STCNI0", HTS_ID)]
    rows[1][24] = "삼성전자"  # CNTG_ISNM40: Korean survives the round trip
    plain = "^".join("^".join(r) for r in rows)
    records = records_of(paper.receive(f"1|H0STCNI9|002|{encrypt(plain)}"))
    assert len(records) == 2
    assert records[1]["CNTG_ISNM40"] == "삼성전자"
    assert all(r.key == HTS_ID and r.tr_id == "H0STCNI9" for r in records)


def test_notice_with_26_fields_and_a_wider_one(paper: RealtimeProtocol) -> None:
    paper.subscribe("H0STCNI9", HTS_ID)
    paper.receive(notice_reply("H0STCNI9"))
    assert width("H0STCNI0") == 26
    (record,) = paper.receive(
        f"1|H0STCNI9|001|{encrypt('^'.join(record_values('H0STCNI0', HTS_ID, 29)))}"
    )
    assert isinstance(record, Record) and record.extra == ("x0", "x1", "x2")
    old = "^".join(record_values("H0STCNI0", HTS_ID, 23))  # the workbook's old example width
    (event,) = paper.receive(f"1|H0STCNI9|001|{encrypt(old)}")
    assert isinstance(event, ErrorEvent) and "23" in str(event.error)


def test_a_notice_routes_to_its_subscription_key(real: RealtimeProtocol) -> None:
    real.subscribe("H0STCNI0", HTS_ID)
    real.receive(notice_reply("H0STCNI0"))
    values = record_values("H0STCNI0", "OTHERID")
    (record,) = real.receive(f"1|H0STCNI0|001|{encrypt('^'.join(values))}")
    assert isinstance(record, Record) and record.key == HTS_ID and record.values[0] == "OTHERID"


def test_a_notice_before_its_key_is_an_error_event(paper: RealtimeProtocol) -> None:
    paper.subscribe("H0STCNI9", HTS_ID)
    plain = "^".join(record_values("H0STCNI0", HTS_ID))
    (event,) = paper.receive(f"1|H0STCNI9|001|{encrypt(plain)}")
    assert isinstance(event, ErrorEvent) and isinstance(event.error, KISNoticeDecryptError)
    assert "before" in str(event.error)


def test_a_notice_with_another_key_or_garbage_is_an_error_event(paper: RealtimeProtocol) -> None:
    paper.subscribe("H0STCNI9", HTS_ID)
    paper.receive(notice_reply("H0STCNI9"))
    plain = "^".join(record_values("H0STCNI0", HTS_ID))
    wrong = encrypt(plain, key="Z" * 32)
    for frame in (f"1|H0STCNI9|001|{wrong}", "1|H0STCNI9|001|not base64!", "1|H0STCNI9|001|QUJD"):
        (event,) = paper.receive(frame)
        assert isinstance(event, ErrorEvent) and isinstance(event.error, KISNoticeDecryptError)
        assert AES_KEY not in str(event.error) and AES_IV not in str(event.error)


def test_a_key_of_the_wrong_length_is_an_error_event(paper: RealtimeProtocol) -> None:
    paper.subscribe("H0STCNI9", HTS_ID)
    bad = reply(
        "H0STCNI9", HTS_ID, "OPSP0000", "SUBSCRIBE SUCCESS", "0", output={"iv": "short", "key": "k"}
    )
    events = paper.receive(bad)
    assert [type(e) for e in events] == [ControlReply, ErrorEvent]
    assert repr(NoticeCipher("H0STCNI9", AES_KEY, AES_IV)).count("***") == 2


def test_resubscribe_after_connection_lost_uses_the_new_sessions_key(
    paper: RealtimeProtocol,
) -> None:
    paper.subscribe("H0STCNT0", "005930")
    paper.subscribe("H0STCNI9", HTS_ID)
    paper.subscribe("H0STASP0", "005930")
    paper.receive(notice_reply("H0STCNI9"))
    paper.unsubscribe("H0STASP0", "005930")
    paper.connection_lost()
    assert {r.state for r in paper.registrations.values()} == {"pending"}
    assert ("H0STASP0", "005930") not in paper.registrations  # its release is done
    plain = "^".join(record_values("H0STCNI0", HTS_ID))
    (event,) = paper.receive(f"1|H0STCNI9|001|{encrypt(plain)}")  # the old key is gone
    assert isinstance(event, ErrorEvent)
    frames = [json.loads(f)["body"]["input"] for f in paper.resubscribe()]
    assert frames == [
        {"tr_id": "H0STCNT0", "tr_key": "005930"},
        {"tr_id": "H0STCNI9", "tr_key": HTS_ID},
    ]
    new_key, new_iv = "N" * 32, "V" * 16
    paper.receive(
        reply(
            "H0STCNI9",
            HTS_ID,
            "OPSP0000",
            "SUBSCRIBE SUCCESS",
            "0",
            output={"iv": new_iv, "key": new_key},
        )
    )
    (record,) = paper.receive(f"1|H0STCNI9|001|{encrypt(plain, new_key, new_iv)}")
    assert isinstance(record, Record)
    assert paper.registrations[("H0STCNI9", HTS_ID)].state == "active"


# --- the registry: cap, paper, names -----------------------------------------------------------


def test_the_cap_counts_pairs_and_refuses_before_any_frame(real: RealtimeProtocol) -> None:
    for i in range(41):
        real.subscribe("H0STCNT0" if i % 2 else "H0STASP0", f"{i:06d}")
    real.subscribe("H0STASP0", f"{0:06d}")  # the same pair again counts once
    assert len(real.registrations) == 41
    with pytest.raises(KISSubscriptionLimitError, match="41 of 41") as caught:
        real.subscribe("H0STCNT0", "999999")
    assert caught.value.code is None and caught.value.limit == 41
    assert ("H0STCNT0", "999999") not in real.registrations
    assert len(real.resubscribe()) == 41


def test_the_cap_is_configurable_and_a_release_frees_a_slot(real: RealtimeProtocol) -> None:
    rt = RealtimeProtocol(APPROVAL, paper=False, max_registrations=2)
    rt.subscribe("H0STCNT0", "005930")
    rt.subscribe("H0STCNT0", "000660")
    with pytest.raises(KISSubscriptionLimitError):
        rt.subscribe("H0STCNT0", "035720")
    rt.unsubscribe("H0STCNT0", "000660")
    with pytest.raises(KISSubscriptionLimitError):  # not until KIS confirms the release
        rt.subscribe("H0STCNT0", "035720")
    rt.receive(reply("H0STCNT0", "000660", "OPSP0001", "UNSUBSCRIBE SUCCESS", "0"))
    rt.subscribe("H0STCNT0", "035720")
    assert set(rt.registrations) == {("H0STCNT0", "005930"), ("H0STCNT0", "035720")}


def test_paper_offers_the_five_paper_trs_only(paper: RealtimeProtocol) -> None:
    assert paper.catalog.paper_tr_ids == {
        "H0STCNT0",
        "H0STASP0",
        "H0STCNI9",
        "H0GSCNI9",
        "H0IFCNI9",
    }
    for tr, expected in [
        ("H0STCNT0", "H0STCNT0"),
        ("H0STASP0", "H0STASP0"),
        ("H0STCNI0", "H0STCNI9"),
        ("H0GSCNI0", "H0GSCNI9"),
        ("H0IFCNI0", "H0IFCNI9"),
    ]:
        assert paper.resolve(tr) == expected
    with pytest.raises(KISRealtimePaperUnsupportedError, match="paper") as caught:
        paper.subscribe("HDFSCNT0", "DNASAAPL")
    assert isinstance(caught.value, KISPaperTradingUnsupportedError)
    assert "H0STCNT0" in str(caught.value) and not paper.registrations


def test_real_maps_paper_notice_names_back(real: RealtimeProtocol) -> None:
    assert real.resolve("H0STCNI9") == "H0STCNI0"
    assert real.resolve("realtime-overseas-delayed-ccnl") == "HDFSCNT0"
    assert real.resolve("실시간-004") == "H0STASP0"


def test_unknown_names_and_rest_apis_are_refused(real: RealtimeProtocol) -> None:
    with pytest.raises(KISUnknownAPIError):
        real.subscribe("H0NOSUCH", "005930")
    with pytest.raises(KISUnknownAPIError, match="not a realtime TR"):
        real.subscribe("order-cash", "005930")
    for bad in ("", "   ", "00\n5930", "x" * 65):
        with pytest.raises(KISUsageError):
            real.subscribe("H0STCNT0", bad)
    assert not real.registrations


def test_the_approval_key_provider_is_asked_per_frame() -> None:
    keys = iter(["first-approval-key-0000000000000000", "second-approval-key-000000000000000"])
    rt = RealtimeProtocol(lambda: next(keys), paper=False)
    first = json.loads(rt.subscribe("H0STCNT0", "005930"))["header"]["approval_key"]
    (second,) = rt.resubscribe()
    assert first.startswith("first") and json.loads(second)["header"]["approval_key"].startswith(
        "second"
    )


def test_no_approval_key_in_any_repr_or_error() -> None:
    rt = RealtimeProtocol(APPROVAL, paper=True, max_registrations=1)
    texts = [repr(rt), repr(rt.registrations)]
    rt.subscribe("H0STCNT0", "005930")
    for tr, key in (("H0STCNT0", "000660"), ("HDFSCNT0", "DNASAAPL"), ("nope", "005930")):
        with pytest.raises(Exception) as caught:
            rt.subscribe(tr, key)
        texts += [str(caught.value), repr(caught.value)]
    events = rt.receive(reply("H0STCNT0", "005930", "OPSP0011", f"invalid approval : {APPROVAL}"))
    events += rt.receive("{" + APPROVAL)
    texts += [repr(e) for e in events] + [str(e.error) for e in events if isinstance(e, ErrorEvent)]
    texts += [repr(rt), repr(rt.registrations)]
    assert len(texts) > 10
    assert all(APPROVAL not in t for t in texts), [t for t in texts if APPROVAL in t]
