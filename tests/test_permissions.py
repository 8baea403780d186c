"""Roles and permissions (issue 6): every command as every department.

The matrix is data (insurtrack/services/permissions.py). Each command runs as one member of each
department: a permitted one succeeds or fails for another reason (never exit 5); a forbidden one
exits 5 with a message naming the person, their department, the action and who may do it, and
changes nothing (Cli.fails compares every row of the store). Feedback is held by claims and the
follow-up belongs to sales, so the "department holding it" rule (T8, Q3) is tested too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from insurtrack import db
from insurtrack.services import permissions as perm
from tests import factories
from tests.conftest import PG_URL, local

# one member of each department (tests/conftest.py STAFF)
MEMBER = {"sales": "sally", "service": "sam", "underwriting": "uma", "claims": "carl",
          "manager": "boss"}
HELD_BY = {"feedback": "claims", "followup": "sales"}  # the department holding the record

# Every command of permissions.COMMANDS with arguments that get it past parsing to its service.
ARGS: dict[str, list[str]] = {
    "staff add": ["staff", "add", "newbie", "--name", "New", "--dept", "sales"],
    "staff list": ["staff", "list"],
    "staff deactivate": ["staff", "deactivate", "sid"],
    "staff activate": ["staff", "activate", "ulf"],
    "customer add": ["customer", "add", "Wang Fang", "--owner", "sally"],
    "customer edit": ["customer", "edit", "C-000001", "--region", "Beijing"],
    "customer show": ["customer", "show", "C-000001"],
    "customer list": ["customer", "list"],
    "customer search": ["customer", "search", "Li"],
    "customer needs": ["customer", "needs", "C-000001", "--needs", "education fund"],
    "customer rate": ["customer", "rate", "C-000001", "--credit", "B", "--reason", "late once"],
    "apply new": ["apply", "new", "C-000001", "--line", "term-life:100000:300", "--frequency",
                  "annual", "--term", "1y", "--promised", "2026-03-09", "--owner", "sally"],
    "apply deliver": ["apply", "deliver", "A-000001"],
    "apply docs": ["apply", "docs", "A-000001"],
    "apply receive": ["apply", "receive", "A-000001", "proof of identity"],
    "apply require": ["apply", "require", "A-000001", "medical report"],
    "apply review": ["apply", "review", "A-000001", "--complete"],
    "apply submit": ["apply", "submit", "A-000001"],
    "apply withdraw": ["apply", "withdraw", "A-000001", "--reason", "changed their mind"],
    "apply list": ["apply", "list"],
    "apply show": ["apply", "show", "A-000001"],
    "underwrite queue": ["underwrite", "queue"],
    "underwrite accept": ["underwrite", "accept", "A-000002"],
    "underwrite decline": ["underwrite", "decline", "A-000002", "--reason", "health",
                           "--advice", "apply again next year"],
    "underwrite request-info": ["underwrite", "request-info", "A-000002", "--what",
                                "a medical report"],
    "underwrite info-received": ["underwrite", "info-received", "A-000002"],
    "policy issue": ["policy", "issue", "A-000003"],
    "policy pay": ["policy", "pay", "P-000001", "--amount", "1200", "--method", "bank_transfer"],
    "policy show": ["policy", "show", "P-000001"],
    "policy list": ["policy", "list"],
    "policy cancel": ["policy", "cancel", "P-000001", "--reason", "customer asked"],
    "policy suspend": ["policy", "suspend", "P-000001"],
    "policy reinstate": ["policy", "reinstate", "P-000001"],
    "policy expire": ["policy", "expire", "P-000001"],
    "renew pay": ["renew", "pay", "P-000001", "--amount", "1200", "--method", "bank_transfer"],
    "renew upcoming": ["renew", "upcoming"],
    "renew remind": ["renew", "remind", "P-000001", "--channel", "phone", "--result", "reached"],
    "renew term": ["renew", "term", "P-000001"],
    "claim report": ["claim", "report", "P-000001", "--incident-at", "2026-03-01 10:00",
                     "--place", "home", "--circumstances", "fell", "--amount", "100"],
    "claim contact": ["claim", "contact", "CL-000001"],
    "claim assess": ["claim", "assess", "CL-000001", "--simple", "--plan", "check records"],
    "claim request-docs": ["claim", "request-docs", "CL-000001", "--doc", "receipt"],
    "claim docs-received": ["claim", "docs-received", "CL-000001"],
    "claim investigate": ["claim", "investigate", "CL-000001", "--assignee", "cora"],
    "claim findings": ["claim", "findings", "CL-000001", "--findings", "as reported"],
    "claim approve": ["claim", "approve", "CL-000001", "--amount", "100"],
    "claim reject": ["claim", "reject", "CL-000001", "--reason", "not covered"],
    "claim pay": ["claim", "pay", "CL-000001", "--method", "bank_transfer"],
    "claim close": ["claim", "close", "CL-000001", "--reason", "withdrawn"],
    "claim reopen": ["claim", "reopen", "CL-000001", "--reason", "new evidence"],
    "claim list": ["claim", "list"],
    "claim show": ["claim", "show", "CL-000001"],
    "revisit log": ["revisit", "log", "C-000001", "--kind", "ad_hoc", "--channel", "phone"],
    "revisit list": ["revisit", "list"],
    "revisit show": ["revisit", "show", "R-000001"],
    "revisit feedback open": ["revisit", "feedback", "open", "C-000001", "--kind", "question",
                              "--summary", "how do I claim"],
    "revisit feedback transfer": ["revisit", "feedback", "transfer", "F-000001", "--to",
                                  "underwriting", "--note", "their question"],
    "revisit feedback resolve": ["revisit", "feedback", "resolve", "F-000001", "--resolution",
                                 "answered"],
    "revisit feedback inform": ["revisit", "feedback", "inform", "F-000001"],
    "revisit feedback reopen": ["revisit", "feedback", "reopen", "F-000001", "--reason", "again"],
    "revisit feedback list": ["revisit", "feedback", "list"],
    "revisit feedback show": ["revisit", "feedback", "show", "F-000001"],
    "due": ["due"],
    "due --notify": ["due", "--notify"],
    "due explain": ["due", "explain", "{fu}"],
    "due add": ["due", "add", "call the bank", "--by", "2026-03-10", "--dept", "claims"],
    "due done": ["due", "done", "{fu}"],
    "due snooze": ["due", "snooze", "{fu}", "--until", "2026-03-20", "--reason", "waiting"],
    "report pipeline": ["report", "pipeline"],
    "report sales": ["report", "sales"],
    "report tendency": ["report", "tendency"],
    "report claims": ["report", "claims"],
    "report portfolio": ["report", "portfolio"],
    "report service": ["report", "service"],
    "report risk": ["report", "risk"],
    "export <records>": ["export", "customers"],
    "import customers": ["import", "customers", "{dir}/customers.csv"],
    "import policies": ["import", "policies", "{dir}/policies.csv"],
    "import payments": ["import", "payments", "{dir}/payments.csv"],
    "backup": ["backup", "--to", "{dir}/backups"],
    "restore": ["restore", "{dir}/book-backup.db", "--yes"],
    "--reveal (customer list/search/show, export)": ["customer", "list", "--reveal"],
}


def test_every_command_is_in_the_matrix_test():
    assert set(ARGS) == set(perm.COMMANDS)
    assert set(perm.COMMANDS.values()) <= set(perm.MATRIX)
    assert set(perm.MATRIX) == set(perm.COMMANDS.values())  # no action without a command


def expected(command: str) -> set[str]:
    action = perm.COMMANDS[command]
    who = perm.allowed(action)
    held = HELD_BY.get(action.split(".")[0])
    return {d for d in perm.DEPARTMENTS if d in who or (perm.OWN in who and d == held)}


def book(cli, work, tmp_path: Path) -> int:
    """A customer, three applications (drafted, submitted, accepted), a policy, a claim,
    feedback held by claims, a sales follow-up; files to import; a backup to restore."""
    from insurtrack.domain.states import Department, FeedbackKind
    from insurtrack.services import due, feedback

    with work("boss") as w:
        cust = factories.customer(w)
        factories.application(w, cust, status="draft")
        factories.application(w, cust, status="submitted")
        factories.application(w, cust, status="accepted")
        pol = factories.policy(w, cust)
        factories.claim(w, pol)
        feedback.open_(w, cust.code, kind=FeedbackKind("complaint"), summary="slow answer",
                       department=Department.CLAIMS)
        fu = due.add(w, title="call Li Na back", due=local(2026, 3, 6, 17, 0),
                     department=Department.SALES).id
    cli.ok("revisit", "log", "C-000001", "--kind", "ad_hoc", "--channel", "phone", as_="sam")
    (tmp_path / "customers.csv").write_text("name,owner\nZhao Lei,sally\n", encoding="utf-8")
    (tmp_path / "policies.csv").write_text("customer\nC-000001\n", encoding="utf-8")
    (tmp_path / "payments.csv").write_text("policy,amount\nP-000001,1\n", encoding="utf-8")
    if not PG_URL:
        cli.ok("backup", "--to", str(tmp_path / "made"))
        [made] = (tmp_path / "made").glob("insurtrack-*.db")
        made.rename(tmp_path / "book-backup.db")
    return fu


@pytest.mark.parametrize("command", list(ARGS))
def test_every_command_as_every_department(cli, work, tmp_path, command):
    """Forbidden departments exit 5 naming who, their department, the action and who may; the
    permitted ones get past the check (success, or another refusal: never 5)."""
    if PG_URL and command in ("backup", "restore"):
        pytest.skip("backup and restore are SQLite's (PostgreSQL: pg_dump)")
    fu = book(cli, work, tmp_path)
    args = [a.replace("{dir}", str(tmp_path)).replace("{fu}", str(fu)) for a in ARGS[command]]
    allowed = expected(command)
    action = perm.COMMANDS[command]
    for dept in perm.DEPARTMENTS:
        if dept in allowed:
            continue
        login = MEMBER[dept]
        result = cli.fails(5, *args, as_=login, expect=f"{login} ({dept}) may not ")
        assert f"({action}): that is for " in result.stderr
        assert perm.who_may(action).split(",")[0] in result.stderr
    # permitted: the holder of the record first, the manager last (one may change the record)
    for dept in sorted(allowed, key=lambda d: (d == "manager", d not in HELD_BY.values())):
        result = cli(*args, as_=MEMBER[dept])
        assert result.exit_code in (0, 2, 3, 4), (command, dept, result.exit_code, result.stderr,
                                                  result.exception)
        assert "may not" not in result.stderr, (command, dept, result.stderr)


def test_the_matrix_is_what_the_issue_asks():
    """Sales: customers, plans, applications; underwriting: decisions; service: revisits,
    feedback, reminders; claims: claims; manager: everything, staff and the store."""
    def who(action):
        return perm.allowed(action) - {perm.OWN}

    assert who("customer.add") == {"sales", "manager"}
    assert who("apply.submit") == {"sales", "manager"}
    assert who("underwrite.accept") == {"underwriting", "manager"}
    assert who("renew.remind") == {"service", "manager"}
    assert who("revisit.log") == {"service", "manager"}
    assert who("claim.pay") == {"claims", "manager"}
    for action in ("staff.add", "store.backup", "store.restore", "book.export", "book.import"):
        assert who(action) == {"manager"}
    for action, spec in perm.MATRIX.items():
        assert "manager" in spec.who, action


def test_refusal_names_person_department_action_and_who_may(cli, work, tmp_path):
    book(cli, work, tmp_path)
    result = cli.fails(5, "claim", "pay", "CL-000001", "--method", "bank_transfer", as_="sam")
    assert result.stderr.strip() == (
        "error: sam (service) may not record a claim payment (claim.pay): that is for claims "
        "and manager")
    result = cli.fails(5, "revisit", "feedback", "resolve", "F-000001", "--resolution", "x",
                       as_="sally")
    assert "sally (sales) may not resolve feedback F-000001 (feedback.resolve): that is for " \
           "service and manager, or the department holding it (claims)" in result.stderr


def test_anyone_may_ask_another_department_for_a_follow_up(cli):
    """Q3, T8: a follow-up or rectification item may be raised by anyone, for any department;
    only its department, its assignee or a manager close it."""
    cli.ok("due", "add", "fix the form", "--by", "2026-03-10", "--dept", "claims", as_="sally")
    cli.fails(5, "due", "done", "1", as_="sally", expect="sally (sales) may not mark a follow-up "
                                                       "done #1 (followup.done)")
    cli.ok("due", "done", "1", as_="carl")


def test_follow_up_assigned_to_a_person_may_be_done_by_them(cli, work):
    """A follow-up of the claims queue assigned to sid (sales) is sid's to close."""
    cli.ok("due", "add", "bring the forms", "--by", "2026-03-10", "--dept", "claims", "--to",
           "sid", as_="boss")
    cli.fails(5, "due", "done", "1", as_="sally", expect="sally (sales) may not mark")
    cli.ok("due", "done", "1", as_="sid")


def test_service_level_checks_do_not_depend_on_the_cli(work, staff):
    """The services enforce the matrix: a sales person cannot pay a claim through the API."""
    from insurtrack.errors import NotPermitted
    from insurtrack.services import claims

    with work("boss") as w:
        cust = factories.customer(w)
        factories.claim(w, factories.policy(w, cust), status="approved")
    with pytest.raises(NotPermitted, match=r"sally \(sales\) may not record a claim payment"):
        with work("sally") as w:
            from insurtrack.domain.states import PaymentMethod

            claims.pay(w, "CL-000001", method=PaymentMethod("bank_transfer"))


def test_cron_needs_service_or_manager(cli):
    """`due --notify` from cron runs as its configured user, who must be in service or be a
    manager (README: cron)."""
    cli.ok("due", "--notify", as_=None, env={"INSURTRACK_USER": "sam"})
    cli.fails(5, "due", "--notify", as_=None, env={"INSURTRACK_USER": "carl"},
              expect="carl (claims) may not send the due notifications")


def test_readme_documents_the_matrix():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert perm.readme_table() in readme, "regenerate the table: permissions.readme_table()"


def test_the_due_board_as_someone_else_needs_a_manager(cli):
    """The board reads without the ORM (issue 5) and keeps the --as rule: sally (sales) may
    not look through sam's eyes; boss (a manager) may; anyone may as themselves."""
    cli.fails(5, "due", "--mine", as_="sam", env={"INSURTRACK_USER": "sally"},
              expect="--as sam: acting as someone else needs a manager")
    cli.ok("due", "--mine", as_="sam", env={"INSURTRACK_USER": "boss"})
    cli.ok("due", "--mine", as_="sally", env={"INSURTRACK_USER": "sally"})


@pytest.mark.skipif(bool(PG_URL), reason="backup and restore are SQLite's")
def test_restore_over_a_missing_database_checks_the_backups_staff(cli, tmp_path):
    cli.ok("backup", "--to", str(tmp_path / "b"))
    [made] = (tmp_path / "b").glob("insurtrack-*.db")
    fresh = tmp_path / "gone" / "book.db"
    fresh.parent.mkdir()
    result = cli("--db", str(fresh), "restore", str(made), "--yes", as_="sally",
                 env={"INSURTRACK_USER": "sally"})
    assert result.exit_code == 5 and "sally (sales) may not restore the database" in result.stderr
    assert not fresh.exists()
    cli.ok("--db", str(fresh), "restore", str(made), "--yes", as_="boss")
    engine = db.make_engine(f"sqlite:///{fresh}")
    try:
        assert db.current_revision(engine) == db.SCHEMA_HEAD
    finally:
        engine.dispose()
    _ = date  # (dates in ARGS are literal)


@pytest.mark.skipif(bool(PG_URL), reason="backup and restore are SQLite's")
def test_backup_checks_who_acts_and_who_is_at_the_keyboard(cli, tmp_path):
    """backup reads the staff table raw (no ORM): the acting person must be a manager, and --as
    someone else needs a manager at the keyboard, as everywhere."""
    to = str(tmp_path / "b")
    cli.fails(5, "backup", "--to", to, as_="sam", expect="sam (service) may not back up")
    cli.fails(5, "backup", "--to", to, as_="boss", env={"INSURTRACK_USER": "sally"},
              expect="--as boss: acting as someone else needs a manager; you are sally (sales")
    cli.fails(5, "backup", "--to", to, as_="ghost", expect="unknown person 'ghost' (from --as)")
    assert not (tmp_path / "b").exists()
    cli.ok("backup", "--to", to, as_=None, env={"INSURTRACK_USER": "boss"})
