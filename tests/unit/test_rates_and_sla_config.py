"""The three rates from counts, and config/sla.toml checked like the other files."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from router.config_files import DEFAULT_CONFIG_DIR
from router.domain.errors import ConfigurationError
from router.domain.rates import OutcomeCounts, RateDefinitions, three_rates
from router.domain.sla import ClockName
from router.sla_config import load_sla_config


def test_open_overdue_tickets_count_against_solved_and_satisfied() -> None:
    counts = OutcomeCounts(tickets=10, responded_in_time=6, responded_late=2, solved=5,
                           not_solved=1, satisfied=3, basically_satisfied=2, unsatisfied=1,
                           open_overdue=2)
    honest = three_rates(counts, RateDefinitions(basically_satisfied_weight=0.8))
    assert honest.response == 0.75
    assert honest.resolution == 0.625  # 5 of 6 called back + 2 overdue
    assert honest.satisfaction == 0.575  # (3 + 0.8 × 2) of 6 rated + 2 overdue
    flattering = three_rates(counts, RateDefinitions(count_open_overdue=False))
    assert flattering.resolution == round(5 / 6, 4)


def test_nothing_counted_is_no_rate_rather_than_full_marks() -> None:
    rates = three_rates(OutcomeCounts(tickets=3), RateDefinitions())
    assert (rates.response, rates.resolution, rates.satisfaction) == (None, None, None)


def test_the_shipped_policy_has_every_clock_and_the_issues_defaults() -> None:
    policy = load_sla_config(DEFAULT_CONFIG_DIR / "sla.toml").policy
    assert set(policy.clocks) == set(ClockName)
    resolution = policy.clocks[ClockName.RESOLUTION]
    hours = {u: resolution.target_for(u, "城乡建设")[0].total_seconds() / 3600
             for u in ("2h", "24h", "general", "complex")}
    assert hours == {"2h": 2, "24h": 24, "general": 7 * 24, "complex": 15 * 24}
    assert resolution.target_for("2h", "城乡建设")[1] == "24x7"
    assert resolution.target_for("general", "城乡建设")[1] == "workdays"
    assert policy.clocks[ClockName.SIGN].target.total_seconds() == 2 * 3600
    assert policy.clocks[ClockName.FIRST_RESPONSE].target.total_seconds() == 24 * 3600
    assert policy.max_returns == 2


def _config_with(tmp_path: Path, old: str, new: str) -> Path:
    config = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG_DIR, config)
    path = config / "sla.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "where"), [
    ('target = "7d"', 'target = "7 days"', "clocks.resolution.target"),
    ('calendar = "workdays"\ntarget = "7d"', 'calendar = "weekdays"\ntarget = "7d"',
     "clocks.resolution.calendar"),
    ("warn_at = [0.7, 0.8, 0.9]", "warn_at = [0.7, 0.7, 0.9]", "warn_at"),
    ("warn_at = [0.7, 0.8, 0.9]", "warn_at = [0.7, 0.704]", "warn_at"),
    ('{ urgencies = ["24h"], target = "24h"', '{ urgencies = ["24hours"], target = "24h"',
     "clocks.resolution.targets[1].urgencies[0]"),
    ('hours = [["09:00", "12:00"], ["13:30", "17:30"]]',
     'hours = [["13:30", "17:30"], ["09:00", "12:00"]]', "calendars.office-hours.hours"),
    ("max_returns = 2", "max_returns = 0", "max_returns"),
    ("[clocks.callback]", "[clocks.callbak]", "clocks"),
])
def test_a_mistake_in_sla_toml_is_named_with_its_field(tmp_path: Path, old: str, new: str,
                                                        where: str) -> None:
    path = _config_with(tmp_path, old, new)
    with pytest.raises(ConfigurationError) as refused:
        load_sla_config(path)
    assert "sla.toml" in str(refused.value)
    assert where in str(refused.value)


def test_a_declared_year_replaces_the_packages_and_ends_the_warning(tmp_path: Path) -> None:
    path = _config_with(tmp_path, "# [[holidays.year]]\n# year = 2027\n",
                        "[[holidays.year]]\nyear = 2027\ndays_off = [2027-01-01]\n"
                        "make_up_workdays = [2027-01-09]\n")
    days = load_sla_config(path).working_days
    assert 2027 in days.known_years
    assert not days.is_working_day(date(2027, 1, 1))
    assert days.is_working_day(date(2027, 1, 9))  # a Saturday declared a working day
    assert days.unknown_years(date(2026, 12, 1), date(2027, 2, 1)) == ()
