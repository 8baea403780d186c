"""The holidays package imports every country it knows (~0.1 s): its answers are cached on disk
so that `due` from cron pays for it once per package version, not on every run (issue 5)."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

PROBE = """
import sys
from datetime import date
from zoneinfo import ZoneInfo
from insurtrack.sla.calendar import WorkCalendar
cal = WorkCalendar(tz=ZoneInfo("Asia/Shanghai"), country="CN")
print(cal.is_working_day(date(2026, 10, 10)), cal.is_working_day(date(2026, 10, 5)),
      "holidays" in sys.modules)
"""


def _probe(cache: Path) -> list[str]:
    env = {**os.environ, "INSURTRACK_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    return out.stdout.split()


def test_the_second_run_answers_from_the_cache_without_importing_holidays(tmp_path):
    # first run: asks the package (Saturday 10 October 2026 is a make-up working day; 5 October
    # is in the National Day holiday) and fills the cache
    assert _probe(tmp_path) == ["True", "False", "True"]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.endswith("-countries.json") for n in names)
    assert any(n.endswith("-CN--2026.json") for n in names)
    # second run: same answers, the package never imported
    assert _probe(tmp_path) == ["True", "False", "False"]


def test_a_cache_of_another_package_version_is_not_used(tmp_path):
    from insurtrack.sla import calendar

    stale = tmp_path / "holidays-0.0.1-CN--2026.json"
    stale.write_text(json.dumps([[], []]))  # claims no holidays at all
    assert _probe(tmp_path) == ["True", "False", "True"]  # the real answers
    assert calendar._package_version() != "0.0.1"


def test_an_unwritable_cache_only_costs_speed(tmp_path):
    target = tmp_path / "file-not-dir"
    target.write_text("x")
    assert _probe(target)[:2] == ["True", "False"]


def test_unknown_countries_and_subdivisions_are_still_refused():
    from zoneinfo import ZoneInfo

    import pytest

    from insurtrack.sla.calendar import WorkCalendar, check_region

    assert check_region("CN", None) is None
    assert "no such country" in check_region("XX", None)
    assert "subdivision 'ZZ'" in check_region("US", "ZZ")
    with pytest.raises(ValueError, match="XX"):
        WorkCalendar(tz=ZoneInfo("UTC"), country="XX")
    assert WorkCalendar(tz=ZoneInfo("UTC"), country="US", subdiv="NY").is_working_day(date(2026, 11, 27))


def test_the_package_version_is_the_installed_one():
    """Read from the dist-info folder's name without importlib.metadata: the same answer."""
    from importlib.metadata import version

    from insurtrack.sla import calendar

    calendar._package_version.cache_clear()
    assert calendar._package_version() == version("holidays")
