"""The README's set-up and quick start work exactly as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _block(after_heading: str) -> str:
    section = README.split(f"## {after_heading}", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def test_setup_is_two_commands_and_ci_runs_them():
    assert _block("Set-up").strip().splitlines() == ['python -m pip install -e ".[test]"',
                                                      "python -m pytest"]
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert 'python -m pip install --quiet -e ".[test]"' in ci and "python -m pytest" in ci


@pytest.mark.skipif(bool(PG_URL), reason="the quick start uses its own SQLite file")
def test_quick_start_walks_a_customer_to_a_paid_claim(tmp_path):
    script = "set -euo pipefail\n" \
             f'insurtrack() {{ "{sys.executable}" -m insurtrack "$@"; }}\n' + _block("Quick start") \
             + "\ninsurtrack customer show C-000001 --format json\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSURTRACK_")}
    env.update(HOME=str(tmp_path), TMPDIR=str(tmp_path), NO_COLOR="1",
               PYTHONPATH=str(Path(__file__).parent.parent),
               XDG_CONFIG_HOME=str(tmp_path / "cfg"), XDG_DATA_HOME=str(tmp_path / "data"))
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for event in ("customer.needs", "application.accepted", "policy.in_force", "claim.paid",
                  "revisit.post_claim"):
        assert event in done.stdout
