"""The demo's third act (未诉先办): the snowstorm night. Heavy snow closes the motorway at 永登
and stranded travellers call, hundreds within minutes, each in their own words. They become
one incident with its report count, not hundreds of tickets, and the surge raises a hotspot.

The callers' words come from a grammar of what stranded travellers say (who, where, what
happened, how long, what they need), so no two calls need be alike; the benchmark of the same
night (bench/surge_bench.py) uses it too. Before the surge, a quiet history of the same area
(a few calls an hour, in the calls' own time) teaches the detector what normal is: a place
seen for the first time is new, not surging.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from router.domain.calendars import CHINA_STANDARD_TIME

SURGE_AREA = "yongdeng"
# The share of the surge the main incident must hold for the act to count as shown: its
# first calls open a few small incidents before the main one's profile knows their words.
ENOUGH = 0.8
OPENINGS = ["", "", "来电人称", "市民反映", "来电反映", "您好，", "喂，"]
WHO = ["我们", "我和家人", "我们一家人", "我们一车人", "车上有老人孩子，我们", "好多返乡的人",
       "我们几个老乡", "我跟同事", "我们全家", "大巴上四十多个人"]
WHERE = ["在永登县城", "在连霍高速永登段", "在永登收费站", "在永登服务区", "在永登县城边上",
         "在永登高速出口", "在去永登的高速上", "在永登这边", "在永登县的国道上"]
WHAT = ["因为大雪高速封路了", "下大雪高速公路封闭了", "大雪封路", "高速因为暴雪封闭了",
        "雪太大路都封了", "路面结冰高速封了", "下暴雪高速不让走了", "高速公路因大雪关闭"]
HOW_LONG = ["被困了好几个小时", "堵在路上一晚上了", "车走不了", "滞留在这里回不了家",
            "已经困了十多个小时", "一直动不了", "在这等了大半天", "过不去也回不去"]
NEEDS = ["县城旅馆都住满了没地方住", "没吃没喝的", "想问什么时候能通车", "希望政府安排住的地方",
         "需要热水和吃的", "车快没油了特别冷", "请尽快帮忙疏导", "有没有临时安置点",
         "孩子冻得受不了", "能不能给送点水和食物", "路什么时候能开"]
# The quiet history of the same place: the ordinary matters of a county town, in each
# category the travellers' calls may be filed under (the surge counts under its incident's
# lead, whichever call that is), so every such key has a baseline when the night comes.
HISTORY = ["永登县城{n}路口的红绿灯坏了，车辆乱走，请交警来看看",
           "永登县城{n}号路段路面坑洼，开车颠得厉害，希望修一下",
           "永登客运站到{n}乡的班车停运了，想问什么时候恢复",
           "永登县{n}路公交车一直不来，等了一个小时",
           "永登县城{n}号工地拖欠农民工工资，老板联系不上"]
# The night's first caller, sent and ticketed before the others arrive.
FIRST_CALLER = "我们一家人在永登收费站，下大雪高速公路封闭了，滞留在这里回不了家，请尽快帮忙疏导"


def stranded_traveller(rng: random.Random) -> str:
    """One stranded traveller's call, in words of their own."""
    parts = [rng.choice(WHAT), rng.choice(HOW_LONG)]
    rng.shuffle(parts)
    needs = rng.sample(NEEDS, rng.choice([1, 1, 2]))
    return (rng.choice(OPENINGS) + rng.choice(WHO) + rng.choice(WHERE) + "，"
            + "，".join(parts + needs) + rng.choice(["", "。", "！"]))


def night_records(start: datetime, surge: int, rng: random.Random, prefix: str,
                  history_hours: int = 6, per_hour: int = 10) -> list[tuple[str, bytes]]:
    """The intake records of the night, in event-time order: the quiet history of the place
    before `start`, then `surge` calls about the closed motorway over the next 5 minutes."""
    records: list[tuple[str, dict[str, Any]]] = []
    for n in range(history_hours * per_hour):
        at = start - timedelta(hours=history_hours) + timedelta(
            minutes=n * 60 / per_hour + rng.uniform(0, 5))
        text = HISTORY[n % len(HISTORY)].format(n=n + 1)
        records.append((f"{prefix}-quiet-{n}", {"received_at": at.isoformat(), "text": text}))
    for n in range(surge):
        at = start + timedelta(seconds=0 if n == 0 else 1 + 299 * rng.random() ** 1.5)
        text = FIRST_CALLER if n == 0 else stranded_traveller(rng)
        records.append((f"{prefix}-snow-{n}", {"received_at": at.isoformat(), "text": text}))
    records.sort(key=lambda pair: pair[1]["received_at"])
    return [(call_id, json.dumps({"call_id": call_id, "hotline": "12345", "area": SURGE_AREA,
                                  **fields}, ensure_ascii=False).encode())
            for call_id, fields in records]


Ask = Callable[[str], Any]  # GET a path as the dispatch centre; the decoded answer


def show_the_night(ask: Ask, surge: int, publish: Callable[[list[tuple[str, bytes]]], None],
                   prefix: str, wait_seconds: float = 120) -> bool:
    """Replay the night and show what the centre sees; True when the surge became one
    incident and one hotspot."""
    rng = random.Random(25_000)
    start = datetime.now().astimezone() - timedelta(minutes=10)
    records = night_records(start, surge, rng, prefix)
    print(f"\n=== 未诉先办: the snowstorm night ({surge} stranded travellers call about the"
          " motorway closed at 永登, each in their own words) ===")
    first = next(i for i, (call_id, _) in enumerate(records) if call_id.endswith("-snow-0"))
    publish(records[:first + 1])
    deadline = time.monotonic() + wait_seconds
    while not ask_quietly(ask, f"/api/v1/calls/{records[first][0]}"):
        if time.monotonic() > deadline:
            print("The first caller's call made no ticket.")
            return False
        time.sleep(0.2)
    publish(records[first + 1:])
    incidents: list[dict[str, Any]] = []
    start_text = start.isoformat()
    hotspots: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        incidents = [i for i in ask("/api/v1/incidents?limit=50")
                     if i["area"] == SURGE_AREA and _later(i["opened_at"], start_text)]
        hotspots = [h for h in ask("/api/v1/hotspots") if h["area"] == SURGE_AREA]
        if incidents and hotspots and incidents[0]["report_count"] >= surge * ENOUGH:
            break
        time.sleep(1)
    if not incidents:
        print("No incident was opened.")
        return False
    main = incidents[0]
    detail = ask(f"/api/v1/incidents/{main['incident_id']}?limit=3")
    linked = sum(1 for r in ask(f"/api/v1/incidents/{main['incident_id']}?limit=1000")[
        "reports"] if r["kind"] == "linked")
    print(f"{surge} calls → incident {main['incident_id']}: {main['report_count']} reports"
          f" ({main['report_count'] / surge:.0%})"
          f" ({main['report_count'] - 1 - linked} counted on lead ticket"
          f" {main['lead_ticket_id']} at {main['unit']}, {linked} emergencies with tickets of"
          f" their own linked to it), priority {main['priority']}")
    if len(incidents) > 1:
        print(f"  and {len(incidents) - 1} smaller incident(s) in the area, opened by calls"
              " whose words the main incident did not know yet")
    for report in detail["reports"][:3]:
        print(f"  e.g. {_cst(report['received_at'])} share {report['share']:.2f}:"
              f" {report['text'][:40]}")
    if not hotspots:
        print("No hotspot was raised.")
        return False
    for hotspot in hotspots:
        print(f"Hotspot {hotspot['category']} × {hotspot['area']}: raised at"
              f" {_cst(hotspot['raised_at'])} CST with {hotspot['reports_when_raised']} reports in"
              f" 10 minutes where {hotspot['expected']} were expected"
              f" (tail probability {hotspot['tail_probability']:.1e})")
        words = "、".join(term for term, _ in hotspot.get("top_terms", [])[:8])
        if words:
            print(f"  its reports' words: {words}")
    return bool(main["report_count"] >= surge * ENOUGH)


def ask_quietly(ask: Ask, path: str) -> Any:
    """The answer, or None while there is none yet (404)."""
    try:
        return ask(path)
    except RuntimeError:
        return None


def _later(moment: str, than: str) -> bool:
    return datetime.fromisoformat(moment) >= datetime.fromisoformat(than)


def _cst(moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(CHINA_STANDARD_TIME).strftime("%H:%M:%S")
