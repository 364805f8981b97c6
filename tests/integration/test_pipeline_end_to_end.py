"""Calls in, tickets out: the real worker against the real broker, Redis and database."""

from __future__ import annotations

import base64
import json
import zlib

import pytest

from router.config_files import load_router_config
from router.domain.routing import Disposition
from tests.conftest import Services
from tests.integration.conftest import Worker

pytestmark = pytest.mark.integration
ROUTING = load_router_config().routing


def call(call_id: str, text: str, **fields: object) -> tuple[str, bytes]:
    # a caller of its own per call: the same caller again about it would be a repeat (催办)
    caller = f"138{zlib.crc32(call_id.encode()) % 10**8:08d}"
    record = {"call_id": call_id, "hotline": "12345", "channel": "phone",
              "received_at": "2026-11-29T09:00:00+08:00", "caller_contact": caller,
              "text": text, **fields}
    return call_id, json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_a_published_call_becomes_one_ticket_and_one_entry_in_its_units_queue(
        worker: Worker, services: Services) -> None:
    call_id = f"{services.run_id}-wages"
    worker.publish([call(call_id, "市民来电反映，其在某建筑公司务工，公司拖欠三个月工资共计两万元，"
                                  "多次讨要未果，请求劳动监察部门帮助追讨欠薪。",
                         place_text="七里河区")])
    ticket = worker.wait_for_tickets([call_id])[call_id]
    assert ticket.category == "劳动和社会保障"
    assert ticket.disposition is Disposition.DISPATCHED
    assert ticket.unit == "human-resources"
    assert ticket.area == "qilihe"
    assert ticket.rule_id == "catalogue-wage-arrears"  # the text names 拖欠工资
    assert worker.queued(ticket.unit).count(ticket.ticket_id) == 1
    events = worker.repository.events(ticket.ticket_id)
    assert [(e.kind.value, e.version) for e in events] == [("created", 1)]
    assert events[0].detail["rule_id"] == "catalogue-wage-arrears"
    announced = [m for m in worker.read_topic("ticket_events", at_least=1_000_000, timeout=3)
                 if m["ticket_id"] == ticket.ticket_id]
    assert [(m["event"], m["event_id"]) for m in announced] == [
        ("ticket.created", events[0].event_id)]


def test_the_same_record_published_twice_makes_one_ticket(
        worker: Worker, services: Services) -> None:
    record = call(f"{services.run_id}-twice",
                  "小区垃圾堆放多日无人清运，气味很大，请环卫部门处理。", place_text="安宁区")
    worker.publish([record, record])
    later = f"{services.run_id}-after-twice"
    worker.publish([record, call(later, "公交车司机不按站点停车，乘客无法上车，请交通部门管理。")])
    tickets = worker.wait_for_tickets([record[0], later])
    ticket = tickets[record[0]]
    assert len(worker.repository.find_by_call_ids([record[0]])) == 1
    assert worker.queued(ticket.unit).count(ticket.ticket_id) == 1
    announced = [e for e in worker.read_topic("ticket_events", at_least=1)
                 if e["call_id"] == record[0]]
    assert len(announced) >= 1  # at-least-once: consumers key on ticket_id
    assert {e["ticket_id"] for e in announced} == {ticket.ticket_id}


def test_a_malformed_record_is_dead_lettered_with_its_reason_and_the_rest_go_on(
        worker: Worker, services: Services) -> None:
    before = call(f"{services.run_id}-before-bad",
                  "学校周边商铺向学生出售三无食品，请市场监管部门查处。")
    after = call(f"{services.run_id}-after-bad",
                 "某医院收费不透明，检查费用明显高于公示标准，请卫健部门核查。")
    bad_json = b'{"call_id": "' + services.run_id.encode() + b'-broken", "text": '
    unknown = call(f"{services.run_id}-unknown-line", "有问题反映", hotline="99999")
    worker.publish([before, (None, bad_json), unknown, (None, b"\xff\xfe\x00bad"), after])
    assert set(worker.wait_for_tickets([before[0], after[0]])) == {before[0], after[0]}
    dead = worker.read_topic("dead_letter", at_least=3)
    mine = {base64.b64decode(d["payload_base64"]): d for d in dead}
    assert mine[bad_json]["reason"] == "not_json"
    assert mine[unknown[1]]["reason"] == "unknown_hotline"
    assert "99999" not in mine[unknown[1]]["detail"]  # a value may be personal data
    assert mine[b"\xff\xfe\x00bad"]["reason"] == "bad_encoding"
    assert mine[bad_json]["source"]["topic"] == worker.topic("calls")
    assert worker.repository.find_by_call_ids([unknown[0]]) == {}


def test_an_emergency_call_is_transferred_not_queued(worker: Worker, services: Services
                                                     ) -> None:
    call_id = f"{services.run_id}-fire"
    worker.publish([call(call_id, "紧急！城关区某小区3号楼起火了，浓烟很大，有人被困在楼上！",
                         place_text="城关区", caller_contact="13800001234")])
    ticket = worker.wait_for_tickets([call_id])[call_id]
    assert ticket.disposition is Disposition.TRANSFERRED
    assert ticket.emergency_service == "119"
    assert ticket.unit == "fire-119"
    transfers = [t for t in worker.read_topic("transfers", at_least=1) if t["call_id"] == call_id]
    assert transfers
    assert transfers[0]["service"] == "119"
    assert transfers[0]["caller_contact"] == "13800001234"  # the line must be able to call back
    for unit in ROUTING.units:
        assert ticket.ticket_id not in worker.queued(unit)


def test_a_possible_emergency_waits_first_in_the_dispatchers_queue_on_a_2h_clock(
        worker: Worker, services: Services) -> None:
    ordinary_id, danger_id = f"{services.run_id}-ordinary", f"{services.run_id}-danger"
    worker.publish([call(ordinary_id, "我想咨询一下"),
                    call(danger_id, "快来人啊，我家老人不对劲了，救命")])
    tickets = worker.wait_for_tickets([ordinary_id, danger_id])
    danger, ordinary = tickets[danger_id], tickets[ordinary_id]
    assert (danger.disposition, danger.rule_id) == (Disposition.TRIAGE, "possible-emergency")
    assert danger.urgency == "2h"
    assert "救命" in danger.route_reason
    assert (ordinary.disposition, ordinary.rule_id) == (Disposition.TRIAGE, "no-content")
    claimed = worker.queues.claim("dispatch-center", "dispatcher-a", 1_000)
    mine = [entry for entry in claimed if entry.ticket_id in {danger.ticket_id,
                                                               ordinary.ticket_id}]
    assert [entry.ticket_id for entry in mine] == [danger.ticket_id, ordinary.ticket_id]
    assert mine[0].entry_id.startswith("u")
    assert mine[0].fields["lane"] == "urgent"


def test_a_record_near_the_brokers_size_limit_is_dead_lettered_and_intake_goes_on(
        worker: Worker, services: Services) -> None:
    before = call(f"{services.run_id}-before-big", "小区电梯经常停运，老人上下楼困难，请尽快维修。")
    after = call(f"{services.run_id}-after-big", "路边井盖缺失，夜间行人容易跌落，请尽快补上。")
    big = (b'{"call_id": "' + services.run_id.encode() + b'-big", "text": "'
           + "很长".encode() * 150_000)  # about 900 kB, and never closed: not JSON
    worker.publish([before, (None, big), after])
    assert set(worker.wait_for_tickets([before[0], after[0]])) == {before[0], after[0]}
    dead = [d for d in worker.read_topic("dead_letter", at_least=1_000, timeout=5)
            if d.get("payload_bytes") == len(big)]
    assert len(dead) == 1
    assert dead[0]["reason"] == "not_json"
    assert dead[0]["payload_truncated"] is True
    assert len(base64.b64decode(dead[0]["payload_base64"])) < len(big)
    status, _ = worker.request("GET", "/readyz")
    assert status == 200


def test_a_different_call_reusing_a_call_id_is_dead_lettered_as_a_conflict(
        worker: Worker, services: Services) -> None:
    call_id = f"{services.run_id}-reused"
    first = call(call_id, "小区垃圾桶满了好几天没人清运，请环卫处理。", place_text="安宁区")
    gas = call(call_id, "楼道里天然气味道很重，可能泄漏了！", place_text="城关区")
    worker.publish([first])
    ticket = worker.wait_for_tickets([call_id])[call_id]
    worker.publish([first, gas])  # a replay, then a different call with the same id
    later = call(f"{services.run_id}-after-reused", "公交站台顶棚漏雨，请维修。")
    worker.publish([later])
    assert worker.wait_for_tickets([later[0]])
    # this call id's only: the desktop's clashes on the shared worker are dead-lettered too
    conflicts = [d for d in worker.read_topic("dead_letter", at_least=1_000, timeout=5)
                 if d["reason"] == "call_id_conflict"
                 and d["detail"].startswith(f"call id {call_id} ")]
    assert [base64.b64decode(d["payload_base64"]) for d in conflicts] == [gas[1]]
    assert "天然气" not in conflicts[0]["detail"]
    stored = worker.repository.find_by_call_ids([call_id])[call_id]
    assert (stored.ticket_id, stored.text) == (ticket.ticket_id, ticket.text)
