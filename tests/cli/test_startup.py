"""`--help` and shell completion stay light: they never import the ORM, Alembic or the notifier
(an import check, not a timing), and every command documents itself."""

import json
import subprocess
import sys

import pytest
import typer

from insurtrack.cli.app import app

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "apprise", "psycopg", "holidays")

PROBE = r"""
import json, os, sys
from insurtrack.cli.app import app
try:
    app(sys.argv[1:], prog_name="insurtrack")
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(os.environ["HEAVY"])))
print("HEAVY=" + json.dumps(heavy), file=sys.stderr)
"""


def _heavy_modules(args, env_extra=None):
    import os

    env = dict(os.environ, HEAVY=json.dumps(HEAVY), **(env_extra or {}))
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env=env, timeout=60)
    line = [l for l in done.stderr.splitlines() if l.startswith("HEAVY=")][-1]
    return json.loads(line[len("HEAVY="):]), done.stdout


@pytest.mark.parametrize("args", [
    ["--help"], ["customer", "--help"], ["claim", "--help"], ["policy", "pay", "--help"],
    ["revisit", "feedback", "--help"], ["due", "--help"], ["report", "--help"],
])
def test_help_imports_no_heavy_module(args):
    heavy, out = _heavy_modules(args)
    assert heavy == [], f"--help imported {heavy}"
    assert "Usage" in out


def test_shell_completion_imports_no_heavy_module():
    heavy, out = _heavy_modules([], {"_INSURTRACK_COMPLETE": "complete_bash",
                                     "COMP_WORDS": "insurtrack cu", "COMP_CWORD": "1"})
    assert heavy == []
    assert "customer" in out


def test_completing_the_first_word_loads_no_command():
    """Tab on the first word answers from cli/commands.py: no command module is imported."""
    import os

    probe = ("import sys\nfrom insurtrack.cli.app import main\ntry:\n    main()\n"
             "except SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('insurtrack.cli.') and "
             "m not in ('insurtrack.cli.app', 'insurtrack.cli.commands')), file=sys.stderr)")
    env = dict(os.environ, _INSURTRACK_COMPLETE="complete_bash", COMP_WORDS="insurtrack c",
               COMP_CWORD="1")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.stdout.split() == ["config", "customer", "claim"]
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_root_help_shows_the_nine_groups():
    from typer.testing import CliRunner

    out = CliRunner().invoke(app, ["--help"]).stdout
    for group in ("customer", "apply", "underwrite", "policy", "renew", "claim", "revisit",
                  "report", "due"):
        assert group in out


def _walk(command, path=(), ctx=None):
    """Every command of the tree, loading the lazy ones as click would (list, then get)."""
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = command.make_context(path[-1] if path else "insurtrack", [], parent=ctx,
                                   resilient_parsing=True)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), path + (name,), ctx)


def test_root_lists_the_table_of_contents_without_loading_it():
    """`insurtrack --help` shows cli/commands.py's summaries, and builds none of the commands."""
    from insurtrack.cli.commands import COMMANDS

    root = typer.main.get_command(app)
    assert root.commands == {}
    ctx = root.make_context("insurtrack", [], resilient_parsing=True)
    assert root.list_commands(ctx) == list(COMMANDS)
    out = root.get_help(ctx)
    for name, (_, _, summary) in COMMANDS.items():
        assert f"{name}" in out and summary.split()[0] in out
    assert root.commands == {}


def test_every_entry_of_the_table_loads_with_its_summary():
    from insurtrack.cli.commands import COMMANDS

    root = typer.main.get_command(app)
    ctx = root.make_context("insurtrack", [], resilient_parsing=True)
    for name, (_, _, summary) in COMMANDS.items():
        command = root.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.short_help == summary
        assert command.help, name


def test_every_command_and_option_has_help():
    root = typer.main.get_command(app)
    missing = []
    for path, command in _walk(root):
        if not (command.help or command.short_help):
            missing.append(" ".join(path) or "insurtrack")
        for param in command.params:
            if param.param_type_name == "option" and not param.help:
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_python_dash_m_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "insurtrack", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("insurtrack ")


def _probe_a_book(tmp_path, args: list[str], heavy: list[str]):
    """`insurtrack ARGS` on a new book holding one manager: (the heavy modules it imported,
    what it printed)."""
    import os

    env = {"INSURTRACK_DB": str(tmp_path / "book.db"),
           "INSURTRACK_CONFIG": str(tmp_path / "none.toml"), "INSURTRACK_USER": "root",
           "INSURTRACK_CACHE_DIR": str(tmp_path / "cache"),
           "INSURTRACK_NOW": "2026-03-02T09:00:00+08:00"}
    if not (tmp_path / "book.db").exists():
        (tmp_path / "none.toml").write_text("", encoding="utf-8")
        made = subprocess.run([sys.executable, "-m", "insurtrack", "staff", "add", "root",
                               "--name", "Root", "--dept", "manager"], capture_output=True,
                              text=True, env={**os.environ, **env}, timeout=60)
        assert made.returncode == 0, made.stderr
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **env, "HEAVY": json.dumps(heavy)}, timeout=60)
    line = [l for l in done.stderr.splitlines() if l.startswith("HEAVY=")][-1]
    return json.loads(line[len("HEAVY="):]), done.stdout, done.stderr


def test_the_due_board_reads_without_the_orm(tmp_path):
    """`due` — cron's and staff's most frequent command — reads a SQLite book through the
    standard library's driver (store.lite_read, sla/board.py): SQLAlchemy, SQLModel, pydantic
    and the ORM are not even imported (issue 5)."""
    for args in (["due"], ["due", "--format", "json"], ["due", "--forecast", "7d"]):
        heavy, _, err = _probe_a_book(tmp_path, args, ["sqlalchemy", "sqlmodel", "pydantic",
                                                       "alembic", "apprise"])
        assert heavy == [], (args, err)


def test_customer_show_reads_without_the_orm(tmp_path):
    """`customer show`, the profile staff open dozens of times an hour, reads a SQLite book
    through the standard library's driver (services/profile.py): no SQLAlchemy, SQLModel or
    pydantic is imported — 0.45 s of its start (issue 5). --reveal, which records the reveal,
    goes through the services."""
    _probe_a_book(tmp_path, ["staff", "add", "sal", "--name", "Sal", "--dept", "sales"], [])
    _probe_a_book(tmp_path, ["customer", "add", "Li Na", "--owner", "sal", "--phone",
                             "13811112222", "--born", "1990-01-02"], [])
    light = ["sqlalchemy", "sqlmodel", "pydantic", "alembic", "apprise"]
    heavy, out, err = _probe_a_book(tmp_path, ["customer", "show", "c-000001"], light)
    assert heavy == [] and "138****2222" in out and "1990-01-02" in out, err
    heavy, out, err = _probe_a_book(tmp_path, ["customer", "show", "C-000001", "--format",
                                               "json"], light)
    doc = json.loads(out)
    assert heavy == [] and doc["owner"] == "sal" and doc["timeline"][0]["event"] == \
        "customer.added", err
    heavy, out, err = _probe_a_book(tmp_path, ["customer", "show", "C-000404"], light)
    assert heavy == [] and "C-000404" in err
    heavy, out, err = _probe_a_book(tmp_path, ["customer", "show", "C-000001", "--reveal"], light)
    assert "sqlalchemy" in heavy and "13811112222" in out


def test_policy_and_claim_show_read_without_the_orm(tmp_path):
    """`policy show` and `claim show` too, read through the standard library's driver
    (services/profile.py): no SQLAlchemy, SQLModel or pydantic."""
    _probe_a_book(tmp_path, ["staff", "add", "sal", "--name", "Sal", "--dept", "sales"], [])
    (tmp_path / "c.csv").write_text("name,owner\nLi Na,sal\n", encoding="utf-8")
    (tmp_path / "p.csv").write_text(
        "customer,product,sum_insured,premium,frequency,term,effective_date,paid_installments\n"
        "C-000001,term-life,500000,1200,monthly,1y,2026-01-15,2\n", encoding="utf-8")
    for kind, name in (("customers", "c.csv"), ("policies", "p.csv")):
        _probe_a_book(tmp_path, ["import", kind, str(tmp_path / name)], [])
    light = ["sqlalchemy", "sqlmodel", "pydantic", "alembic", "apprise"]
    heavy, out, err = _probe_a_book(tmp_path, ["policy", "show", "p-000001", "--format", "json"],
                                    light)
    doc = json.loads(out)
    assert heavy == [], err
    assert (doc["customer"], doc["premium"], doc["outstanding"]) == ("C-000001", "1200.00",
                                                                    "1000.00")
    assert [(i["seq"], i["status"], i["days_overdue"]) for i in doc["schedule"][:3]] == [
        (1, "paid", None), (2, "paid", None), (3, "due", 0)]   # due 2026-03-15, now 03-02
    assert [p["installment"] for p in doc["payments"]] == [1, 2]
    assert [t["event"] for t in doc["timeline"]][:2] == ["policy.issued", "premium.paid"]
    heavy, out, err = _probe_a_book(tmp_path, ["policy", "show", "P-000404"], light)
    assert heavy == [] and "P-000404" in err
    # and `claim show`, the claim with its cover (T12), documents, investigations and timeline
    _probe_a_book(tmp_path, ["claim", "report", "P-000001", "--incident-at", "2026-02-20 10:00",
                             "--place", "home", "--circumstances", "fell", "--amount", "8000",
                             "--product", "term-life"], [])
    heavy, out, err = _probe_a_book(tmp_path, ["claim", "show", "cl-000001", "--format", "json"],
                                    light)
    doc = json.loads(out)
    assert heavy == [], err
    assert (doc["policy"], doc["claimed"], doc["sum_insured"], doc["handler"]) == (
        "P-000001", "8000.00", "500000.00", "root")
    assert [t["event"] for t in doc["timeline"]] == ["claim.reported"]


def test_export_reads_without_the_orm(tmp_path):
    """`export` reads through SQLAlchemy Core on domain/records.py's tables: SQLModel, pydantic
    and the ORM are not imported (some 0.3 s of the start of an export of a million policies,
    issue 5); `--reveal`, which records an event, still writes through the services."""
    for args in (["export", "policies"], ["export", "customers", "--format", "json"],
                 ["export", "events", "--from", "2026-01-01"]):
        heavy, out, err = _probe_a_book(tmp_path, args, ["sqlmodel", "pydantic", "alembic",
                                                         "apprise"])
        assert heavy == [], (args, err)
        assert out.startswith(("code,", "[", "id,")), (args, out)
