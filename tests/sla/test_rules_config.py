"""SLA rules and the working calendar as configuration (T2-T13 deadlines, Q1 measurable standards).

The shipped rules are `[sla.<name>]` tables of config.example.toml; a file's table overrides the
shipped rule key by key, `enabled = false` switches it off, a new name adds a rule. A bad rule or
calendar key is a config error (exit 6) naming the file and the key, under `config check` and
under every command that loads the config — never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from insurtrack import config
from insurtrack.domain import models as m
from insurtrack.sla import rules
from tests import factories

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXAMPLE = Path(__file__).parent.parent.parent / "config.example.toml"
REPORT = ["--incident-at", "2026-03-01 18:00", "--place", "Nanjing Road",
          "--circumstances", "fell on the stairs", "--amount", "12000"]
T9 = "claim-first-contact"


def refused(cli, *args: str, where: str) -> str:
    """Exit 6 with `where` (file: key) on stderr and no traceback; returns stderr. (A cheaper
    cli.fails for the many cases: a config error stops a command before it opens the store;
    test_every_command_refuses_a_bad_rule checks that nothing changes.)"""
    result = cli(*args, as_=None)
    assert result.exit_code == 6, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    assert where in result.stderr, result.stderr
    return result.stderr


def write(cli, text: str) -> None:
    Path(cli.config_path).write_text(text, encoding="utf-8")


def n_followups(cli, rule: str) -> int:
    with Session(cli.engine) as s:
        return s.execute(select(func.count()).select_from(m.FollowUp)
                         .where(m.FollowUp.rule == rule)).scalar_one()


def fu_id(cli, rule: str, subject: str) -> int:
    with Session(cli.engine) as s:
        return s.execute(select(m.FollowUp.id).where(m.FollowUp.rule == rule,
                                                     m.FollowUp.subject == subject)).scalar_one()


@pytest.fixture
def pol(work):
    """P-000001 of C-000001, in force for 2026, written without events."""
    with work("sally") as w:
        return factories.policy(w, factories.customer(w)).code


# ------------------------------------------------------------------ the shipped rules

def test_the_shipped_example_passes_config_check(bare_cli):
    result = bare_cli.ok("--config", str(EXAMPLE), "config", "check", as_=None)
    assert f"{EXAMPLE}: ok" in result.stderr


def test_the_example_file_holds_exactly_the_shipped_rules():
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert data["sla"] == rules.DEFAULT_RULES
    settings = config.load(str(EXAMPLE), env={})
    assert [r.name for r in settings.rulebook.rules] == list(rules.DEFAULT_RULES)


@pytest.mark.parametrize("name", list(rules.DEFAULT_RULES))
def test_each_shipped_rule_parses(name):
    rule, problems = rules.parse_rule(name, rules.DEFAULT_RULES[name])
    assert problems == [] and rule is not None and rule.enabled
    assert rule.source.split(":")[0].strip(), "every shipped rule cites its business rule (T…)"
    assert set(rule.start_on) <= rules.EVENT_TYPES


def test_shipped_rules_say_what_the_business_rules_say():
    book = config.load(str(EXAMPLE), env={}).rulebook
    got = {r.name: (str(r.target), r.calendar, r.kind, r.assign_to, r.department,
                    str(r.warn_before) if r.warn_before else None,
                    str(r.repeat_every) if r.repeat_every else None) for r in book.rules}
    assert got[T9] == ("30 minutes", "24x7", "sla", "owner", "claims", "10 minutes", None)
    assert got["simple-investigation"] == ("5 working days", "24x7", "sla", "owner", "claims",
                                           "1 working day", None)
    assert got["complex-claim-review"] == ("1 week", "24x7", "task", "owner", "claims", None,
                                           "1 week")
    assert got["claim-decision"][0] == "30 days"      # PRC Insurance Law art. 23
    assert got["claim-payment"][0] == "10 days"       # art. 23
    assert got["rejection-notice"][0] == "3 days"     # art. 24
    assert got["post-claim-revisit"][:5] == ("7 days", "24x7", "task", "queue", "service")
    assert got["application-status-check"][6] == "1 working day"  # T3: every day
    assert got["quarterly-revisit"][6] == "3 months"                # T6
    assert book.get("simple-investigation").only_if == (("complexity", "simple"),)
    assert book.get("simple-investigation").pause_on == ("claim.docs_requested",)


# ------------------------------------------------------------------ bad rules

BASE = 'department = "claims"\nstart_on = ["claim.reported"]\ntarget = "1 day"\n'


def _without(key: str) -> str:
    return "".join(line + "\n" for line in BASE.splitlines() if not line.startswith(key))


BAD_RULES = [
    ("unknown-event", "[sla.x]\n" + _without("start_on") + 'start_on = ["claim.exploded"]\n',
     "sla.x.start_on", "unknown event 'claim.exploded'"),
    ("bad-unit", "[sla.x]\n" + _without("target") + 'target = "3 fortnights"\n',
     "sla.x.target", "unknown unit 'fortnights'"),
    ("negative", "[sla.x]\n" + _without("target") + 'target = "-5 days"\n',
     "sla.x.target", "negative"),
    ("not-a-duration", "[sla.x]\n" + _without("target") + 'target = "soon"\n',
     "sla.x.target", "not a duration"),
    ("number-target", "[sla.x]\n" + _without("target") + "target = 30\n",
     "sla.x.target", "must be a string"),
    ("missing-target", "[sla.x]\n" + _without("target"), "sla.x.target", "is required"),
    ("missing-start", "[sla.x]\n" + _without("start_on"), "sla.x.start_on", "at least one event"),
    ("empty-start", "[sla.x]\n" + _without("start_on") + "start_on = []\n",
     "sla.x.start_on", "at least one event"),
    ("missing-department", "[sla.x]\n" + _without("department"),
     "sla.x.department", "is required"),
    ("bad-department", "[sla.x]\n" + _without("department") + 'department = "marketing"\n',
     "sla.x.department", "must be one of"),
    ("pause-without-resume", "[sla.x]\n" + BASE + 'pause_on = ["claim.docs_requested"]\n',
     "sla.x.resume_on", "pause_on and resume_on go together"),
    ("resume-without-pause", "[sla.x]\n" + BASE + 'resume_on = ["claim.docs_received"]\n',
     "sla.x.pause_on", "pause_on and resume_on go together"),
    ("unknown-field", "[sla.x]\n" + BASE + 'colour = "red"\n', "sla.x.colour", "unknown key"),
    ("before-without-anchor", "[sla.x]\n" + BASE + "before = true\n",
     "sla.x.before", "needs an anchor"),
    ("unknown-anchor", "[sla.x]\n" + BASE + 'anchor = "claim.incident_at"\n',
     "sla.x.anchor", "unknown anchor 'claim.incident_at'"),
    ("bad-calendar", "[sla.x]\n" + BASE + 'calendar = "lunar"\n', "sla.x.calendar", "24x7"),
    ("bad-kind", "[sla.x]\n" + BASE + 'kind = "chore"\n', "sla.x.kind", "must be one of"),
    ("bad-assign", "[sla.x]\n" + BASE + 'assign_to = "everyone"\n', "sla.x.assign_to",
     "must be one of"),
    ("bad-warn", "[sla.x]\n" + BASE + 'warn_before = "a bit"\n', "sla.x.warn_before",
     "not a duration"),
    ("zero-repeat", "[sla.x]\n" + BASE + 'repeat_every = "0 days"\n', "sla.x.repeat_every",
     "more than zero"),
    ("bad-only-if", "[sla.x]\n" + BASE + 'only_if = "simple"\n', "sla.x.only_if",
     "must be a table"),
    ("bad-enabled", "[sla.x]\n" + BASE + 'enabled = "no"\n', "sla.x.enabled", "true or false"),
    ("bad-stop-list", "[sla.x]\n" + BASE + "stop_on = [1, 2]\n", "sla.x.stop_on",
     "list of event names"),
    ("bad-name", '[sla."Call Back"]\n' + BASE, "sla.Call Back", "lower-case"),
    ("not-a-table", "[sla]\nx = 5\n", "sla.x", "must be a table"),
    ("shipped-rule-override", "[sla.claim-first-contact]\ntarget = \"soon\"\n",
     "sla.claim-first-contact.target", "not a duration"),
    ("shipped-rule-unknown-key", "[sla.claim-first-contact]\ntarjet = \"15 minutes\"\n",
     "sla.claim-first-contact.tarjet", "unknown key"),
]


CLI_CASES = {"unknown-event", "bad-unit", "negative", "missing-start", "missing-department",
             "pause-without-resume", "unknown-field", "before-without-anchor", "unknown-anchor",
             "shipped-rule-override"}


@pytest.mark.parametrize("body,key,words", [b[1:] for b in BAD_RULES if b[0] in CLI_CASES],
                         ids=[b[0] for b in BAD_RULES if b[0] in CLI_CASES])
def test_a_bad_rule_is_a_config_error_naming_file_and_key(bare_cli, body, key, words):
    write(bare_cli, body)
    where = f"{bare_cli.config_path}: {key}: "
    assert words in refused(bare_cli, "config", "check", where=where)
    # a command that loads the config refuses to run, naming the same key
    refused(bare_cli, "due", where=where)


@pytest.mark.parametrize("body,key,words", [b[1:] for b in BAD_RULES if b[0] not in CLI_CASES],
                         ids=[b[0] for b in BAD_RULES if b[0] not in CLI_CASES])
def test_more_bad_rules_name_their_key(tmp_path, body, key, words):
    """The same check as above, in process (the CLI path is the same for every key)."""
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    _, _, issues = config.check(str(path), env={})
    assert any(f"{path}: {key}: " in str(i) and words in str(i) for i in issues), issues


def test_every_command_refuses_a_bad_rule(cli):
    write(cli, "[sla.x]\n" + _without("target") + 'target = "3 fortnights"\n')
    where = f"{cli.config_path}: sla.x.target: "
    for args in (["due"], ["due", "--forecast", "7d"], ["due", "--notify"], ["due", "explain", "1"],
                 ["customer", "list"], ["claim", "list"], ["config", "show"]):
        cli.fails(6, *args, expect=where)


def test_config_check_names_every_bad_rule_key(cli):
    write(cli, "[sla.x]\n" + _without("target") + 'target = "3 fortnights"\ncolour = "red"\n'
          '[sla.claim-payment]\nwarn_before = "-1 day"\n')
    result = cli.fails(6, "config", "check", as_=None)
    for key in ("sla.x.target", "sla.x.colour", "sla.claim-payment.warn_before"):
        assert f"{cli.config_path}: {key}: " in result.stderr
    # a command names the first and points to `config check` for the rest
    assert "and 2 more" in cli.fails(6, "due").stderr


# ------------------------------------------------------------------ overriding, disabling, adding

def test_an_override_changes_only_the_keys_it_names(cli, pol):
    """`[sla.claim-first-contact] target = "15 minutes"`: the warning, stop event, owner and
    source stay as shipped."""
    write(cli, '[sla.claim-first-contact]\ntarget = "15 minutes"\n')
    cli.ok("config", "check", as_=None)
    cli.ok("claim", "report", pol, *REPORT, as_="carl")  # 09:00
    doc = cli.json("due", "explain", str(fu_id(cli, T9, "CL-000001")))
    assert (doc["due_at"], doc["warn_at"], doc["assignee"], doc["target"]) == (
        "2026-03-02T09:15:00+08:00", "2026-03-02T09:05:00+08:00", "carl",
        "15 minutes; warn 10 minutes before")
    assert doc["source"] == rules.DEFAULT_RULES[T9]["source"]
    assert [r["state"] for r in cli.json("due", "--now", "2026-03-02 09:15")] == ["breached"]
    cli.clock.advance(minutes=10)
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    assert cli.json("due", "explain", str(fu_id(cli, T9, "CL-000001")))["status"] == "done"


def test_changing_a_rule_recomputes_its_open_follow_ups(cli, pol):
    cli.ok("claim", "report", pol, *REPORT, as_="carl")  # 09:00, due 09:30 as shipped
    cli.ok("claim", "report", pol, *REPORT, as_="carl")
    cli.ok("claim", "contact", "CL-000002", as_="carl")  # met: history is not rewritten
    write(cli, '[sla.claim-first-contact]\ntarget = "15 minutes"\nwarn_before = "5 minutes"\n')
    cli.clock.advance(minutes=1)
    result = cli.ok("due", "--format", "json")
    assert "recomputed 1 open follow-up(s)" in result.stderr
    doc = cli.json("due", "explain", str(fu_id(cli, T9, "CL-000001")))
    assert (doc["due_at"], doc["warn_at"]) == ("2026-03-02T09:15:00+08:00",
                                               "2026-03-02T09:10:00+08:00")
    assert [(h["from"], h["due"]) for h in doc["deadline history"]] == [
        ("2026-03-02T09:00:00+08:00", "2026-03-02T09:30:00+08:00"),
        ("2026-03-02T09:01:00+08:00", "2026-03-02T09:15:00+08:00")]
    closed = cli.json("due", "explain", str(fu_id(cli, T9, "CL-000002")))
    assert (closed["due_at"], closed["status"]) == ("2026-03-02T09:30:00+08:00", "done")
    assert "recomputed" not in cli.ok("due").stderr  # once only


def test_enabled_false_switches_a_shipped_rule_off(cli, pol):
    cli.ok("claim", "report", pol, *REPORT, as_="carl")  # CL-000001 under the shipped rule
    write(cli, "[sla.claim-first-contact]\nenabled = false\n")
    cli.ok("config", "check", as_=None)
    cli.ok("claim", "report", pol, *REPORT, as_="carl")  # CL-000002: no callback clock
    assert n_followups(cli, T9) == 1
    # the open one of the switched-off rule leaves the board; other rules work as before
    assert cli.json("due", "--now", "2026-03-02 10:00") == []
    cli.ok("claim", "contact", "CL-000002", as_="carl")
    cli.ok("claim", "assess", "CL-000002", "--simple", "--plan", "records", as_="carl")
    assert n_followups(cli, "simple-investigation") == 1
    assert [r["rule"] for r in cli.json("due", "--now", "2026-03-09 12:00")] == [
        "simple-investigation"]


def test_a_new_rule_works_end_to_end(cli, pol):
    """A VIP callback within 2 hours for fire claims, held by the claims queue."""
    write(cli, """
[sla.vip-callback]
source = "Q1: fire claims are called back by the claims desk within 2 hours"
description = "Call the fire claimant back"
department = "claims"
start_on = ["claim.reported"]
only_if = { cause = "fire" }
target = "2 hours"
warn_before = "30 minutes"
stop_on = ["claim.contacted"]
cancel_on = ["claim.closed"]
""")
    cli.ok("config", "check", as_=None)
    cli.ok("claim", "report", pol, *REPORT, "--cause", "fire", as_="carl")   # CL-000001
    cli.ok("claim", "report", pol, *REPORT, "--cause", "fall", as_="carl")   # CL-000002
    assert n_followups(cli, "vip-callback") == 1
    rows = cli.json("due", "--now", "2026-03-02 10:30", "--kind", "vip-callback", "--mine",
                    as_="cora")
    assert [(r["rule"], r["state"], r["subject"], r["source"], r["assignee"], r["department"],
             r["title"], r["due_at"]) for r in rows] == [
        ("vip-callback", "at_risk", "CL-000001", "Q1", "", "claims",
         "Call the fire claimant back", "2026-03-02T11:00:00+08:00")]
    assert [r["rule"] for r in cli.json("due", "--now", "2026-03-02 11:00", "--kind", "Q1")] == [
        "vip-callback"]
    doc = cli.json("due", "explain", str(fu_id(cli, "vip-callback", "CL-000001")))
    assert doc["target"] == "2 hours; warn 30 minutes before"
    cli.clock.advance(minutes=20)
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    doc = cli.json("due", "explain", str(fu_id(cli, "vip-callback", "CL-000001")))
    assert (doc["status"], doc["breached"]) == ("done", False)
    assert [(e["event"], e["role"]) for e in doc["events"]] == [
        ("claim.reported", "opened"), ("claim.contacted", "closed")]


# ------------------------------------------------------------------ the calendar

BAD_CALENDAR = [
    ('[calendar]\nhours = "9-5"\n', "calendar.hours", "invalid business hours"),
    ('[calendar]\nhours = "17:30-09:00"\n', "calendar.hours", "start must be before"),
    ('[calendar]\nhours = "09:00-25:00"\n', "calendar.hours", "00-23"),
    ('[calendar]\ncountry = "XX"\n', "calendar.country", "unknown country code 'XX'"),
    ('[calendar]\ncountry = "NYSE"\n', "calendar.country", "unknown country code"),
    ('[calendar]\nextra_holidays = ["2026-02-30"]\n', "calendar.extra_holidays", "2026-02-30"),
    ('[calendar]\nextra_holidays = ["next friday"]\n', "calendar.extra_holidays", "next friday"),
    ("[calendar]\nextra_holidays = [20260304]\n", "calendar.extra_holidays", "20260304"),
    ("[calendar]\nextra_holidays = [2026-03-04T09:00:00]\n", "calendar.extra_holidays",
     "a date such as"),
    ('[calendar]\nextra_workdays = ["2026/03/07"]\n', "calendar.extra_workdays", "2026/03/07"),
    ('[calendar]\ntimezone = "Mars/Olympus"\n', "calendar.timezone", "unknown IANA timezone"),
]


def _cal_id(case):
    return case[1] + ":" + case[0].split("=")[1].strip()


@pytest.mark.parametrize("body,key,words", BAD_CALENDAR[::3], ids=map(_cal_id, BAD_CALENDAR[::3]))
def test_a_bad_calendar_key_is_a_config_error(bare_cli, body, key, words):
    write(bare_cli, body)
    where = f"{bare_cli.config_path}: {key}: "
    assert words in refused(bare_cli, "config", "check", where=where)
    assert words in refused(bare_cli, "due", where=where)


@pytest.mark.parametrize("body,key,words", BAD_CALENDAR, ids=map(_cal_id, BAD_CALENDAR))
def test_every_bad_calendar_key_is_named(tmp_path, body, key, words):
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    _, _, issues = config.check(str(path), env={})
    assert [str(i) for i in issues] == [str(i) for i in issues if f"{path}: {key}: " in str(i)]
    assert len(issues) == 1 and words in str(issues[0])


@pytest.mark.parametrize("body", ['[calendar]\ncountry = "US"\nsubdivision = "ZZ"\n',
                                  '[calendar]\ncountry = ""\nsubdivision = "NY"\n'])
def test_a_bad_subdivision_is_a_config_error(cli, body):
    write(cli, body)
    cli.fails(6, "config", "check", as_=None, expect="calendar.subdivision")
    cli.fails(6, "due", expect="calendar.subdivision")


def _simple_due(cli, pol) -> str:
    """A simple claim assessed Monday 2026-03-02 09:00: its 5-working-day deadline."""
    cli.ok("claim", "report", pol, *REPORT, as_="carl")
    cli.ok("claim", "contact", "CL-000001", as_="carl")
    cli.ok("claim", "assess", "CL-000001", "--simple", "--plan", "records", as_="carl")
    return cli.json("due", "explain", str(fu_id(cli, "simple-investigation", "CL-000001")))["due_at"]


def test_shipped_calendar_deadline(cli, pol):
    assert _simple_due(cli, pol) == "2026-03-10T00:00:00+08:00"  # Mon 03-09, end of day


def test_extra_holidays_push_a_working_day_deadline(cli, pol):
    write(cli, "[calendar]\nextra_holidays = [2026-03-04, \"2026-03-09\"]\n")
    # Tue 3, Thu 5, Fri 6, Tue 10, Wed 11
    assert _simple_due(cli, pol) == "2026-03-12T00:00:00+08:00"


def test_extra_workdays_pull_a_working_day_deadline(cli, pol):
    write(cli, '[calendar]\nextra_workdays = ["2026-03-07"]\n')
    # Tue 3, Wed 4, Thu 5, Fri 6, Sat 7 (a make-up working day)
    assert _simple_due(cli, pol) == "2026-03-08T00:00:00+08:00"


def test_no_country_means_monday_to_friday(cli, work):
    """CN's Qingming holiday (Mon 2026-04-06) is a working day when no country is configured."""
    write(cli, '[calendar]\ncountry = ""\n')
    with work("sally") as w:
        pol = factories.policy(w, factories.customer(w)).code
    cli.clock.instant = cli.clock.instant.replace(month=4, day=1)  # Wed 2026-04-01 09:00
    assert _simple_due(cli, pol) == "2026-04-09T00:00:00+08:00"   # Thu 2, Fri 3, Mon 6, Tue 7, Wed 8


def test_shipped_calendar_skips_qingming(cli, work):
    with work("sally") as w:
        pol = factories.policy(w, factories.customer(w)).code
    cli.clock.instant = cli.clock.instant.replace(month=4, day=1)  # Wed 2026-04-01 09:00
    assert _simple_due(cli, pol) == "2026-04-10T00:00:00+08:00"   # Thu 2, Fri 3, Tue 7, Wed 8, Thu 9
