"""The demo's second act: tickets living after intake, over the HTTP API as its users would.

Units sign for their queues, contact citizens and reply; the centre calls back (satisfied,
basically satisfied, not satisfied: that one reopens); one ticket is returned and
re-dispatched; one unit leaves its queue unsigned, and on the demo's short sign-for policy
its tickets warn and breach while the demo watches. Then the three rates per unit.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from router.access import Role, UnitTokens
from router.domain.calendars import CHINA_STANDARD_TIME

DEMO_SIGN_SECONDS = 30
_SATISFACTION = ("satisfied", "satisfied", "basically_satisfied", "unsatisfied")


def demo_config(config_dir: Path, target: Path) -> Path:
    """The configuration with a short sign-for clock (the demo's policy), so a breach
    happens while the demo runs."""
    shutil.copytree(config_dir, target)
    set_sign_clock(target, DEMO_SIGN_SECONDS,
                   f"# the demo's short policy: sign for within {DEMO_SIGN_SECONDS} s\n")
    return target


def set_sign_clock(config_dir: Path, seconds: int, comment: str = "") -> None:
    """Rewrite the configuration's sign-for clock to `seconds` on the 24x7 calendar, for
    every ticket (the demo's and the tests' short policies)."""
    path = config_dir / "sla.toml"
    text = path.read_text(encoding="utf-8")
    start, end = text.index("[clocks.sign]"), text.index("[clocks.first_response]")
    path.write_text(text[:start] + comment + f'[clocks.sign]\ncalendar = "24x7"\n'
                    f'target = "{seconds}s"\n\n' + text[end:], encoding="utf-8")


@dataclass
class Api:
    base: str
    tokens: UnitTokens

    def call(self, method: str, path: str, unit: str, person: str, body: Any = None,
             role: Role = Role.STAFF) -> tuple[int, Any]:
        token = self.tokens.issue(unit, person=person, role=role)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def ok(self, method: str, path: str, unit: str, person: str, body: Any = None,
           role: Role = Role.STAFF) -> Any:
        status, answer = self.call(method, path, unit, person, body, role)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer


def live(api: Api, centre: str, dispatched: Mapping[str, int], unit_names: Mapping[str, str],
         wait_seconds: float = 90) -> bool:
    """Run the second act; True when the unsigned tickets breached in time."""
    units = [unit for unit, count in sorted(dispatched.items()) if count and unit != centre]
    if not units:
        print("\nNo ticket reached a unit: nothing lives.")
        return True
    # the unit with the fewest tickets leaves them unsigned
    idle = min(units, key=lambda unit: (dispatched[unit], unit))
    print(f"\n=== The tickets' life (demo policy: sign for within {DEMO_SIGN_SECONDS} s) ===")
    print(f"{unit_names[idle]} ({idle}) leaves its {dispatched[idle]} ticket(s) unsigned")
    steps: Counter[str] = Counter()
    signed: dict[str, list[str]] = {}
    for unit in units:
        if unit == idle:
            continue
        claimed = api.ok("POST", f"/api/v1/units/{unit}/claims", unit, f"{unit}-staff",
                         {"count": 100})
        signed[unit] = [c["ticket"]["ticket_id"] for c in claimed if c["ticket"]]
        steps["signed for"] += len(signed[unit])
    returned = _return_one(api, centre, signed, units, idle, steps)
    callbacks = 0
    for unit, ticket_ids in signed.items():
        for index, ticket_id in enumerate(ticket_ids):
            base = f"/api/v1/units/{unit}/tickets/{ticket_id}"
            api.ok("POST", f"{base}/contact", unit, f"{unit}-staff",
                   {"note": "已电话联系市民，了解诉求细节"})
            steps["contacted"] += 1
            if index % 3 == 2:
                continue  # still being worked on
            api.ok("POST", f"{base}/resolve", unit, f"{unit}-staff",
                   {"reply": "已安排处理并答复市民"})
            steps["resolved"] += 1
            satisfaction = _SATISFACTION[callbacks % len(_SATISFACTION)]
            callbacks += 1
            after = api.ok("POST", f"/api/v1/tickets/{ticket_id}/callback", centre,
                           "dispatcher-demo", {"reached": True,
                                               "solved": satisfaction != "unsatisfied",
                                               "satisfaction": satisfaction})
            steps[f"called back: {satisfaction}"] += 1
            if after["reopen_count"]:
                steps["reopened (back to the unit)"] += 1
    for step, count in steps.items():
        print(f"  {count:4d}  {step}")
    if returned:
        print(f"  returned and re-dispatched: {returned}")
    breached = _watch_the_breach(api, centre, idle, wait_seconds)
    _print_rates(api, unit_names)
    return breached


def _return_one(api: Api, centre: str, signed: dict[str, list[str]], units: list[str],
                idle: str, steps: Counter[str]) -> str | None:
    """A unit returns one ticket (wrong place); the centre sends it to another unit."""
    giver = next((u for u in units if len(signed.get(u, [])) >= 2), None)
    taker = next((u for u in units if u not in (giver, idle)), None)
    if giver is None or taker is None:
        return None
    ticket_id = signed[giver].pop()
    api.ok("POST", f"/api/v1/units/{giver}/tickets/{ticket_id}/return", giver, f"{giver}-staff",
           {"reason_code": "wrong_place"})
    api.ok("POST", f"/api/v1/tickets/{ticket_id}/dispatch", centre, "dispatcher-demo",
           {"unit": taker})
    # the relay puts it in the new unit's queue just after the commit: claim until it is there
    for _ in range(50):
        claimed = api.ok("POST", f"/api/v1/units/{taker}/claims", taker, f"{taker}-staff",
                         {"count": 100})
        signed.setdefault(taker, []).extend(c["ticket"]["ticket_id"] for c in claimed
                                            if c["ticket"])
        if ticket_id in signed[taker]:
            break
        time.sleep(0.1)
    steps["returned (属地不符)"] += 1
    return f"{ticket_id} {giver} → {taker}"


def _watch_the_breach(api: Api, centre: str, idle: str, wait_seconds: float) -> bool:
    queue = api.ok("GET", f"/api/v1/units/{idle}/queue", centre, "dispatcher-demo")
    ticket_ids = [entry["ticket_id"] for entry in queue["recent_entries"]]
    if not ticket_ids:
        return True
    print(f"\nWaiting for {idle}'s unsigned ticket(s) to pass the {DEMO_SIGN_SECONDS} s"
          " sign-for target …")
    deadline = time.monotonic() + wait_seconds
    while True:
        events = {ticket_id: api.ok("GET", f"/api/v1/tickets/{ticket_id}/events", centre,
                                    "dispatcher-demo") for ticket_id in ticket_ids}
        if all(any(e["kind"] == "sla_breached" for e in trail) for trail in events.values()):
            break
        if time.monotonic() > deadline:
            print("  the breach did not come in time")
            return False
        time.sleep(1)
    for ticket_id, trail in events.items():
        for event in trail:
            if event["kind"].startswith("sla_"):
                moment = datetime.fromisoformat(event["occurred_at"]).astimezone(
                    CHINA_STANDARD_TIME)
                print(f"  {ticket_id}  {moment:%H:%M:%S} CST  {event['kind']:13s}"
                      f" {event['detail']['clock']} {event['detail']['level']}")
    return True


def _print_rates(api: Api, unit_names: Mapping[str, str]) -> None:
    rates = api.ok("GET", "/api/v1/rates?by=unit", "city-office", "manager-demo",
                   role=Role.MANAGER)

    def percent(value: float | None) -> str:
        return "   —" if value is None else f"{value * 100:3.0f}%"

    print(f"\nThe three rates per unit (基本满意 weighs {rates['basically_satisfied_weight']},"
          " open tickets past their target count against the unit):")
    print("  响应率 解决率 满意率  tickets  unit")
    for group in rates["groups"]:
        unit = group["key"] or ""
        print(f"   {percent(group['response_rate'])}  {percent(group['resolution_rate'])}"
              f"  {percent(group['satisfaction_rate'])}  {group['tickets']:7d}"
              f"  {unit_names.get(unit, unit)} ({unit})")
