"""The monthly three-rates ranking: built from tickets that lived through October and
November, then opened in headless Chromium (Debian's package): the page renders, shows every
unit with its three rates and the change against October, and a screenshot is taken."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from router.config_files import DEFAULT_CONFIG_DIR
from router.domain.calendars import CHINA_STANDARD_TIME
from router.domain.tickets import Satisfaction, Ticket, TicketChange
from router.metrics import RouterMetrics
from router.persistence.database import make_engine, upgrade_schema
from router.persistence.tickets import TicketRepository
from router.report import Period, build_report
from router.sla_config import load_sla_config
from router.sla_reports import RateReports
from tests.integration.test_persistence import create, save, ticket
from tests.policy import POLICY

pytestmark = pytest.mark.integration
UNITS = {"transport": "市交通运输局", "education": "市教育局",
         "housing-fund": "市住房公积金管理中心"}
# (unit, month, how the citizen answered, or None: left open)
LIVES: list[tuple[str, int, tuple[bool, Satisfaction] | None]] = [
    *[("transport", 11, (True, Satisfaction.SATISFIED))] * 4,
    ("transport", 11, (False, Satisfaction.UNSATISFIED)),
    *[("education", 11, (True, Satisfaction.BASICALLY_SATISFIED))] * 3,
    ("education", 11, None),
    ("housing-fund", 11, None),
    *[("transport", 10, (True, Satisfaction.SATISFIED))] * 2,
    *[("education", 10, (False, Satisfaction.UNSATISFIED))] * 2,
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def live(repository: TicketRepository) -> None:
    for index, (unit, month, answer) in enumerate(LIVES):
        created = datetime(2026, month, 10 + index % 10, 9, 0, tzinfo=CHINA_STANDARD_TIME)
        new = dataclasses.replace(ticket(f"report-{index}", unit=unit), created_at=created,
                                  received_at=created, category="交通运输" if unit ==
                                  "transport" else "教育文体")
        create(repository, new)
        found = repository.get(new.ticket_id)
        assert found is not None
        if answer is None:  # never signed for: a month later it is long overdue
            change = found.tick(created + timedelta(days=30), POLICY)
            assert change is not None
            save(repository, change)
            continue
        at = created + timedelta(minutes=20)
        solved, satisfaction = answer
        for step in ("claim", "contact", "resolve", "callback"):
            current = repository.get(new.ticket_id)
            assert current is not None
            save(repository, lived(current, step, unit, at, solved, satisfaction))


def lived(current: Ticket, step: str, unit: str, at: datetime, solved: bool,
          satisfaction: Satisfaction) -> TicketChange:
    if step == "claim":
        return current.claim(unit, "staff", at, POLICY)
    if step == "contact":
        return current.contact(unit, "staff", "已联系", at, POLICY)
    if step == "resolve":
        return current.resolve(unit, "staff", "已处理", at, POLICY)
    return current.record_callback("D1", True, solved, satisfaction, None,
                                   at + timedelta(hours=1), POLICY)


def dumped(page: Path, screenshot: Path) -> str:
    browser = chromium()
    common = [browser, "--headless=new", "--no-sandbox", "--disable-gpu",
              "--hide-scrollbars", "--window-size=1100,2000"]
    shot = subprocess.run([*common, f"--screenshot={screenshot}", page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert shot.returncode == 0, shot.stderr[-2000:]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def test_the_monthly_ranking_renders_every_unit_with_its_three_rates(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'report.db'}")
    upgrade_schema(engine)
    repository = TicketRepository(engine)
    live(repository)
    definitions = load_sla_config(DEFAULT_CONFIG_DIR / "sla.toml").rates
    reports = RateReports(repository, definitions, RouterMetrics())
    page = build_report(reports, Period.month("2026-11"), UNITS, tmp_path / "report")
    assert {p.name for p in page.parent.glob("*.png")} == {
        "response.png", "resolution.png", "satisfaction.png", "categories.png"}
    screenshot = tmp_path / "report.png"
    dom = dumped(page, screenshot)
    assert screenshot.stat().st_size > 20_000
    start, end = dom.index('<section id="resolution">'), dom.index('<section id="satisfaction">')
    resolution = dom[start:end]
    rows = re.findall(r'<tr class="unit" data-unit="([\w-]+)">(.*?)</tr>', resolution, re.S)
    assert [unit for unit, _ in rows] == ["transport", "education", "housing-fund"]
    cells = {unit: re.findall(r"<td>(.*?)</td>", row) for unit, row in rows}
    # transport: 5 responded in time, 4 of 5 solved, 4 of 5 satisfied; October: 2 of 2
    assert cells["transport"][2:5] == ["100.0%", "80.0%", "80.0%"]
    assert cells["transport"][-1] == "-20.0 pt"
    # education: 3 of 4 responded (one never signed), 3 solved of 3 + 1 overdue,
    # 3 × 0.8 of 3 + 1 overdue; October: nothing solved
    assert cells["education"][2:5] == ["75.0%", "75.0%", "60.0%"]
    assert cells["education"][-1] == "+75.0 pt"
    # housing-fund: its one ticket never signed for and overdue
    assert cells["housing-fund"][2:5] == ["0.0%", "0.0%", "0.0%"]
    assert cells["housing-fund"][6] == "1"
    for name in UNITS.values():
        assert name in dom
    assert "三率排名通报" in dom
    if os.environ.get("HOTLINE_REPORT_SCREENSHOT"):  # for the README
        shutil.copy(screenshot, os.environ["HOTLINE_REPORT_SCREENSHOT"])


def test_the_report_command_writes_the_page_even_for_a_database_never_used(tmp_path: Path
                                                                            ) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOTLINE_")}
    env["HOTLINE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    done = subprocess.run([sys.executable, "-m", "router.cli", "report", "--period", "2026-11",
                           "--out", str(tmp_path / "out")], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "index.html").exists()
    refused = subprocess.run([sys.executable, "-m", "router.cli", "report", "--period",
                              "November", "--out", str(tmp_path / "x")], env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 2
    assert "YYYY-MM" in refused.stderr
