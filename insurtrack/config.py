"""Configuration declared as data: every key with its type, default and description.

`config.example.toml` and `insurtrack init` are generated from SPEC, so the documentation can
never drift from what the loader accepts. Precedence: command-line flag > environment > file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from insurtrack.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

APP_NAME = "insurtrack"
ENV_CONFIG = "INSURTRACK_CONFIG"
ENV_DB = "INSURTRACK_DB"
ENV_USER = "INSURTRACK_USER"


def _timezone(value: str) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown IANA timezone {value!r} (e.g. 'Asia/Shanghai', 'America/New_York')"
    return None


def _db_url(value: str) -> str | None:
    if value and "://" in value and not value.startswith(("sqlite", "postgresql")):
        return f"unsupported database URL {value!r}: use sqlite:///PATH or postgresql+psycopg://…"
    return None


def _positive(value: int) -> str | None:
    return None if value > 0 else f"must be greater than 0, not {value}"


def _not_negative(value: int) -> str | None:
    return None if value >= 0 else f"must be 0 or more, not {value}"


def _non_empty_items(value: list) -> str | None:
    for item in value:
        if not isinstance(item, str) or not item.strip():
            return f"every item must be a non-empty string, not {item!r}"
    if len(set(value)) != len(value):
        return "items must not repeat"
    return None


def _country(value: str) -> str | None:
    if not value:
        return None
    from insurtrack.sla.calendar import check_region

    if check_region(value.upper(), None):
        return f"unknown country code {value!r} for the holidays package (e.g. \"CN\", \"US\", \"GB\")"
    return None


def _hours(value: str) -> str | None:
    from insurtrack.sla.calendar import parse_hours

    try:
        parse_hours(value)
    except ValueError as exc:
        return str(exc)
    return None


def as_date(value: Any):
    """A TOML date or an ISO "YYYY-MM-DD" string as a date; ValueError otherwise."""
    from datetime import date, datetime

    if isinstance(value, datetime):
        raise ValueError(f"{value!r} has a time; give a date")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError(f"{value!r} is not a date")


def _dates(value: list) -> str | None:
    for item in value:
        try:
            as_date(item)
        except ValueError:
            return f"every item must be a date such as 2027-02-05, not {item!r}"
    return None


def _urls(value: Any, where: str) -> list[tuple[str, str]]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(u, str) and "://" in u for u in items):
        return [(where, f"must be a list of Apprise URLs (scheme://…), not {value!r}")]
    return []


def _routes_departments(value: dict) -> list[tuple[str, str]]:
    from insurtrack.sla.rules import DEPARTMENTS

    out = []
    for name, urls in value.items():
        if name not in DEPARTMENTS:
            out.append((f"notify.departments.{name}",
                        f"unknown department (one of {', '.join(DEPARTMENTS)})"))
        out += _urls(urls, f"notify.departments.{name}")
    return out


def _routes_staff(value: dict) -> list[tuple[str, str]]:
    out = []
    for name, urls in value.items():
        out += _urls(urls, f"notify.staff.{name}")
    return out


def _default_rules() -> dict:
    from insurtrack.sla.rules import DEFAULT_RULES

    return DEFAULT_RULES


def _sla(value: dict) -> list[tuple[str, str]]:
    from insurtrack.sla import rules

    _, problems = rules.parse_all(rules.merge(rules.DEFAULT_RULES, value))
    return problems


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    description: str
    validate: Callable[[Any], str | None] | None = None
    source: str = ""


SPEC: tuple[Setting, ...] = (
    Setting(
        "database.url", str, "",
        "SQLAlchemy URL of the store. Empty: a SQLite file in the user's data directory.\n"
        "Examples: sqlite:////var/lib/insurtrack/book.db, "
        "postgresql+psycopg://insurtrack@db.internal/insurtrack.\n"
        "Overridden by INSURTRACK_DB and by --db.",
        _db_url,
    ),
    Setting(
        "database.busy_timeout_ms", int, 10000,
        "SQLite only: how long a writer waits for another writer before giving up (milliseconds).",
        _positive,
    ),
    Setting(
        "user.name", str, "",
        "Staff code of the person acting when neither --as nor INSURTRACK_USER is given.\n"
        "Empty: the operating-system login name.",
    ),
    Setting(
        "display.timezone", str, "Asia/Shanghai",
        "IANA timezone in which times are shown and in which dates typed without a time are read.",
        _timezone,
    ),
    Setting(
        "plan.products", list,
        ["term-life", "whole-life", "critical-illness", "medical", "accident", "auto", "property",
         "liability"],
        "Product codes a plan line may name (D1: data in a set format). Empty list: any code.",
        _non_empty_items,
    ),
    Setting(
        "application.required_documents", list,
        ["signed application form", "proof of identity", "bank account authorisation"],
        "Checklist every new application starts with (L3); add more per application with --doc.",
        _non_empty_items,
    ),
    Setting(
        "policy.grace_days", int, 60,
        "Days after an unpaid installment's due date before the policy may be suspended.",
        _not_negative,
        "PRC Insurance Law art. 36: 60 days after the due date (30 after the insurer's reminder)",
    ),
    Setting(
        "policy.renewal_window_days", int, 90,
        "Days before (and after) a policy's expiry within which it may be renewed for a new term.",
        _positive,
    ),
    Setting(
        "policy.reinstate_within_days", int, 730,
        "Days after suspension within which a suspended policy may be reinstated.",
        _not_negative,
        "PRC Insurance Law art. 37: two years",
    ),
)

SPEC += (
    Setting(
        "calendar.country", str, "CN",
        "Country whose official public holidays (and make-up working days, e.g. China's adjusted\n"
        "weekends) decide what a working day is: an ISO code known to the `holidays` package.\n"
        "Empty: Monday to Friday, no public holidays.",
        _country,
    ),
    Setting("calendar.subdivision", str, "",
            "Province or state for regional holidays (e.g. \"NY\" with country \"US\"). Empty: national only."),
    Setting("calendar.timezone", str, "",
            "IANA timezone of the office's working hours. Empty: the same as display.timezone.",
            lambda v: _timezone(v) if v else None),
    Setting("calendar.hours", str, "09:00-17:30",
            "Business hours on a working day, local time (targets counted in business minutes).",
            _hours),
    Setting("calendar.extra_holidays", list, [],
            "Extra days off the holidays package does not know yet (the official notice for next\n"
            "year comes late): TOML dates such as [2027-02-05] or \"2027-02-05\" strings.",
            _dates),
    Setting("calendar.extra_workdays", list, [],
            "Extra working days (make-up working days announced after the package's release).",
            _dates),
    Setting("notify.staff_email_url", str, "",
            "Apprise URL template used for staff members who have an email address and no URL of their\n"
            "own below; {email} is replaced by the address. Example:\n"
            "mailtos://insurtrack:PASSWORD@smtp.example.com?from=insurtrack@example.com&to={email}"),
    Setting("notify.timeout_seconds", int, 15,
            "How long one delivery may take before the channel counts as down for this run.",
            _positive),
    Setting("notify.lease_minutes", int, 10,
            "A notification claimed by a run that died is retried by another run after this long.",
            _positive),
    Setting("notify.departments", dict, {},
            "Where each department's digest goes: department = [Apprise URLs]. Any Apprise URL works:\n"
            "mailto(s)://, json:// webhooks, wecombot:// (WeCom), dingtalk://, feishu://, slack://,\n"
            "workflows:// (Teams)… Example:\n"
            "claims = [\"mailtos://bot:PASSWORD@smtp.example.com?to=claims@example.com\",\n"
            "          \"wecombot://BOTKEY\"]",
            _routes_departments),
    Setting("notify.staff", dict, {},
            "Where each person's digest goes: staff code = [Apprise URLs] (overrides staff_email_url).\n"
            "Example: sam = [\"dingtalk://TOKEN/13800000000\"]",
            _routes_staff),
    Setting("sla", dict, _default_rules(),
            "SLA rules, one [sla.<name>] table each (see the shipped rules below). A table in your\n"
            "file overrides the shipped rule of the same name key by key; `enabled = false` turns a\n"
            "shipped rule off; a new name adds a rule. Keys: source, description, department\n"
            "(sales/service/underwriting/claims/manager), assign_to (owner = the record's owner or\n"
            "handler; queue = the department), kind (sla: a missed target is a breach; task: a missed\n"
            "reminder is overdue), per (record, or customer: one clock per customer), start_on,\n"
            "stop_on, cancel_on, pause_on, resume_on (event names), only_if (payload values the\n"
            "starting event must have), anchor (plan.promised_date, installment.due_date,\n"
            "policy.expiry_date) and before (count back from it), target, warn_before, repeat_every\n"
            "(durations: \"30 minutes\", \"4 hours\", \"3 days\", \"5 working days\", \"1 week\",\n"
            "\"3 months\"), calendar (24x7, or business: minutes inside business hours on working\n"
            "days, and a date falling on a day off moves to the next working day).",
            _sla),
)

# Checked entries (issue 6, D2, K4)
SPEC += (
    Setting("claims.second_approval_above", int, 50000,
            "Claim amounts above this (whole currency units) must be approved by someone other than\n"
            "the claim's assessor: a second person checks every large payment (D2, K4). 0: every\n"
            "claim payment needs that second person.",
            _not_negative),
)

SPEC_BY_KEY: dict[str, Setting] = {s.key: s for s in SPEC}


@dataclass(frozen=True)
class ConfigIssue:
    path: Path | None
    key: str | None
    message: str

    def __str__(self) -> str:
        return str(ConfigError(self.message, path=self.path, key=self.key))


@dataclass(frozen=True)
class Settings:
    """The loaded configuration: every key of SPEC, validated, read-only."""

    values: Mapping[str, Any]
    path: Path | None = None
    loaded_from_file: bool = False

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @cached_property
    def timezone(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.values["display.timezone"])

    @cached_property
    def rulebook(self):
        """The SLA rules in effect: the shipped ones merged with the file's [sla.*] tables."""
        from insurtrack.sla import rules

        from dataclasses import replace

        book, _ = rules.parse_all(rules.merge(rules.DEFAULT_RULES, self.values["sla"]))
        cal = repr([self.values[k] for k in sorted(self.values) if k.startswith("calendar.")]
                   + [self.values["display.timezone"]])
        return rules.RuleBook.of([replace(r, calendar_fp=cal) for r in book.rules])

    @cached_property
    def calendar(self):
        """The office's working calendar (holidays, make-up working days, business hours)."""
        from zoneinfo import ZoneInfo

        from insurtrack.sla.calendar import WorkCalendar, parse_hours

        start, end = parse_hours(self.values["calendar.hours"])
        v = self.values
        return WorkCalendar(
            tz=ZoneInfo(v["calendar.timezone"] or v["display.timezone"]),
            country=v["calendar.country"].upper() or None, subdiv=v["calendar.subdivision"] or None,
            extra_holidays=frozenset(as_date(d) for d in v["calendar.extra_holidays"]),
            extra_workdays=frozenset(as_date(d) for d in v["calendar.extra_workdays"]),
            day_start=start, day_end=end)


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


def find_config_path(flag: str | None, env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """Where the config lives and whether the user named it (a named file must exist)."""
    env = os.environ if env is None else env
    if flag:
        return Path(flag).expanduser(), True
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG]).expanduser(), True
    return default_config_path(), False


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and not any(s.key == key for s in SPEC):
            if not value:
                flat[key] = value
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def validate(data: Mapping[str, Any], path: Path | None = None) -> tuple[dict[str, Any], list[ConfigIssue]]:
    """Check raw TOML data against SPEC; return the full set of values and every problem found."""
    values = {s.key: s.default for s in SPEC}
    issues: list[ConfigIssue] = []
    for key, value in _flatten(data).items():
        setting = SPEC_BY_KEY.get(key)
        if setting is None:
            issues.append(ConfigIssue(path, key, "unknown key"))
            continue
        expected = setting.type
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if not ok:
            issues.append(ConfigIssue(
                path, key, f"must be {_type_name(expected)}, not {type(value).__name__} {value!r}"))
            continue
        if setting.validate:
            problem = setting.validate(value)
            if isinstance(problem, list):
                issues += [ConfigIssue(path, k, msg) for k, msg in problem]
                if problem:
                    continue
            elif problem:
                issues.append(ConfigIssue(path, key, problem))
                continue
        values[key] = value
    issues += _cross_check(values, issues, path)
    return values, issues


def _cross_check(values: dict[str, Any], issues: list[ConfigIssue], path: Path | None) -> list[ConfigIssue]:
    """Keys that are only right together: a holiday subdivision belongs to its country."""
    sub, country = values["calendar.subdivision"], values["calendar.country"]
    if not sub or any(i.key in ("calendar.country", "calendar.subdivision") for i in issues):
        return []
    if not country:
        return [ConfigIssue(path, "calendar.subdivision",
                            f"{sub!r} needs calendar.country (the country it belongs to)")]
    from insurtrack.sla.calendar import _supported

    known = _supported().get(country.upper(), [])
    if sub not in known:
        shown = ", ".join(known[:20]) + ("…" if len(known) > 20 else "") or "none"
        return [ConfigIssue(path, "calendar.subdivision",
                            f"{sub!r} is not a subdivision of {country!r} (known: {shown})")]
    return []


def _type_name(t: type) -> str:
    return {str: "a string", int: "an integer", list: "a list", bool: "true or false",
            dict: "a table"}.get(t, t.__name__)


def read(path: Path) -> tuple[dict[str, Any], list[ConfigIssue]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}, [ConfigIssue(path, None, "file not found")]
    except OSError as exc:
        return {}, [ConfigIssue(path, None, f"cannot read: {exc.strerror}")]
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return {}, [ConfigIssue(path, None, "not UTF-8 text")]
    except tomllib.TOMLDecodeError as exc:
        return {}, [ConfigIssue(path, None, f"not valid TOML: {exc}")]
    return validate(data, path)


def check(flag: str | None = None, env: Mapping[str, str] | None = None) -> tuple[Path, bool, list[ConfigIssue]]:
    """For `config check`: the file consulted, whether it exists, and every problem in it."""
    path, named = find_config_path(flag, env)
    if not named and not path.exists():
        return path, False, []
    _, issues = read(path)
    return path, path.exists(), issues


def load(flag: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Find and load the configuration; a missing default file means all defaults."""
    path, named = find_config_path(flag, env)
    if not named and not path.exists():
        return Settings(values={s.key: s.default for s in SPEC}, path=path, loaded_from_file=False)
    values, issues = read(path)
    if issues:
        first = issues[0]
        more = f" (and {len(issues) - 1} more: run `insurtrack config check`)" if len(issues) > 1 else ""
        raise ConfigError(first.message + more, path=first.path, key=first.key)
    return Settings(values=values, path=path, loaded_from_file=True)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def render_example() -> str:
    """The documented starter file: every key, commented, at its default; every shipped SLA rule."""
    lines = [
        "# insurtrack configuration. Every key is shown with its default value.",
        "# Found at: --config FILE > $INSURTRACK_CONFIG > the user's config directory",
        "# (run `insurtrack config path` to see it). Check it with `insurtrack config check`.",
        "# Rule IDs (T7, L3…) refer to the business rules in the project's domain notes.",
    ]
    section = None
    for s in SPEC:
        if s.type is dict:
            continue
        sec, _, name = s.key.rpartition(".")
        if sec != section:
            lines += ["", f"[{sec}]"]
            section = sec
        _comment(lines, s)
        lines.append(f"{name} = {_toml_value(s.default)}")
    for s in SPEC:
        if s.type is not dict or s.key == "sla":
            continue
        lines += ["", f"[{s.key}]"]
        _comment(lines, s)
    from insurtrack.sla.rules import DEFAULT_RULES

    lines.append("")
    _comment(lines, SPEC_BY_KEY["sla"])
    for name, rule in DEFAULT_RULES.items():
        lines += ["", f"[sla.{name}]"]
        for key, value in rule.items():
            if key == "only_if":
                value = "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
                lines.append(f"{key} = {value}")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _comment(lines: list[str], s: Setting) -> None:
    for text in s.description.splitlines():
        lines.append(f"# {text}")
    if s.source:
        lines.append(f"# Source: {s.source}.")
