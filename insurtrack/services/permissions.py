"""Who may do what: the permission matrix, declared as data (issue 6).

Each action names what it does and the departments that may do it. `manager` may do everything.
`OWN` stands for "the department that holds the record, or the person it is assigned to": feedback
travels between departments (T8) and a follow-up belongs to its department (T2-T13, Q3), so the
department holding it may work on it, whoever that is.

The services enforce it: every writing service function (and every report and export) calls
`w.require(action, ...)` before it changes or reads anything. A refusal is NotPermitted (exit 5),
naming the person, their department, the action and who may do it. COMMANDS maps every command to
its action: the README table ("Roles and permissions") is generated from it and a test compares
them, and the matrix test (tests/test_permissions.py) runs every command as every department.

Reading: everyone may look up customers, applications, policies, claims, revisits, feedback,
the underwriting queue, staff and the due board (a real office works from one book). Reports go to
managers and to the departments whose work they measure; raw exports, imports, backups, restores
and staff changes are the manager's. Personal data (ID and phone numbers) is masked everywhere it is
listed, shown or exported; `--reveal` shows it to managers, sales (who own customer profiles) and
service (who phone the customers, T5-T7), and records who saw what (privacy.py).

No module-level import of the ORM: the CLI reads COMMANDS for help and docs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from insurtrack.errors import NotPermitted

SALES, SERVICE, UNDERWRITING, CLAIMS, MANAGER = "sales", "service", "underwriting", "claims", "manager"
DEPARTMENTS = (SALES, SERVICE, UNDERWRITING, CLAIMS, MANAGER)
OWN = "own"  # the department holding the record, or the person it is assigned to
EVERYONE = frozenset(DEPARTMENTS)


@dataclass(frozen=True)
class Action:
    what: str                      # "record a claim payment": for messages and the README
    who: frozenset[str]            # departments (manager always), and possibly OWN
    write: bool = True


def _a(what: str, *who: str, write: bool = True) -> Action:
    return Action(what, frozenset(who) | {MANAGER}, write)


READ = dict(write=False)

MATRIX: dict[str, Action] = {
    # staff and the store: managers
    "staff.add": _a("register staff"),
    "staff.activate": _a("reactivate staff"),
    "staff.deactivate": _a("deactivate staff"),
    "staff.read": _a("list staff", *DEPARTMENTS, **READ),
    "store.backup": _a("back up the database", **READ),
    "store.restore": _a("restore the database"),
    "book.export": _a("export raw records", **READ),
    "book.import": _a("import records"),
    # customers (T1, L1, K3): sales; service keeps contact details current (L6)
    "customer.add": _a("add a customer", SALES),
    "customer.edit": _a("edit a customer", SALES, SERVICE),
    "customer.needs": _a("record a needs conversation", SALES),
    "customer.rate": _a("set a credit rating or risk level", SALES, UNDERWRITING),
    "customer.read": _a("look up customers", *DEPARTMENTS, **READ),
    "personal_data.reveal": _a("reveal ID and phone numbers", SALES, SERVICE, **READ),
    # plans and applications (L2, L3, T2, T3): sales
    "apply.new": _a("draft a plan", SALES),
    "apply.deliver": _a("deliver a plan", SALES),
    "apply.receive": _a("receive application documents", SALES),
    "apply.require": _a("require application documents", SALES),
    "apply.review": _a("review an application", SALES),
    "apply.submit": _a("submit an application", SALES),
    "apply.withdraw": _a("withdraw an application", SALES),
    "apply.read": _a("look up applications", *DEPARTMENTS, **READ),
    # underwriting decisions (L4, T4); sales brings what the customer owed
    "underwrite.accept": _a("accept an application", UNDERWRITING),
    "underwrite.decline": _a("decline an application", UNDERWRITING),
    "underwrite.request_info": _a("request information for underwriting", UNDERWRITING),
    "underwrite.info_received": _a("record information received for underwriting",
                                   UNDERWRITING, SALES),
    "underwrite.read": _a("see the underwriting queue", *DEPARTMENTS, **READ),
    # policies: issued by underwriting (L5), then serviced (L6)
    "policy.issue": _a("issue a policy", UNDERWRITING),
    "policy.pay": _a("record a premium payment", SERVICE),
    "policy.cancel": _a("cancel a policy", SERVICE),
    "policy.suspend": _a("suspend a policy", SERVICE),
    "policy.reinstate": _a("reinstate a policy", SERVICE),
    "policy.expire": _a("expire a policy", SERVICE),
    "policy.read": _a("look up policies", *DEPARTMENTS, **READ),
    "renew.remind": _a("record a premium or renewal reminder", SERVICE),
    "renew.term": _a("renew a policy", SERVICE),
    # claims (L7, T9-T12)
    "claim.report": _a("record a claim report", CLAIMS),
    "claim.contact": _a("record the first contact on a claim", CLAIMS),
    "claim.assess": _a("assess a claim", CLAIMS),
    "claim.request_docs": _a("request claim documents", CLAIMS),
    "claim.docs_received": _a("record claim documents received", CLAIMS),
    "claim.investigate": _a("assign a site investigation", CLAIMS),
    "claim.findings": _a("record investigation findings", CLAIMS),
    "claim.approve": _a("approve a claim", CLAIMS),
    "claim.reject": _a("reject a claim", CLAIMS),
    "claim.pay": _a("record a claim payment", CLAIMS),
    "claim.close": _a("close a claim", CLAIMS),
    "claim.reopen": _a("reopen a claim", CLAIMS),
    "claim.read": _a("look up claims", *DEPARTMENTS, **READ),
    # revisits and feedback (T5, T6, T8, T13): service; feedback is worked by whoever holds it
    "revisit.log": _a("record a revisit", SERVICE),
    "revisit.read": _a("look up revisits", *DEPARTMENTS, **READ),
    "feedback.open": _a("record customer feedback", *DEPARTMENTS),
    "feedback.transfer": _a("transfer feedback", SERVICE, OWN),
    "feedback.resolve": _a("resolve feedback", SERVICE, OWN),
    "feedback.inform": _a("record that the customer was told", SERVICE, OWN),
    "feedback.reopen": _a("reopen feedback", SERVICE, OWN),
    "feedback.read": _a("look up feedback", *DEPARTMENTS, **READ),
    # follow-ups (T2-T13, Q3)
    "followup.read": _a("see the due board", *DEPARTMENTS, **READ),
    "followup.add": _a("add a follow-up or a rectification item", *DEPARTMENTS),
    "followup.done": _a("mark a follow-up done", OWN),
    "followup.snooze": _a("snooze a follow-up", OWN),
    "followup.notify": _a("send the due notifications (due --notify)", SERVICE),
    # reports (D4, Q2, Q4, K2): managers, and the departments whose work they measure
    "report.pipeline": _a("see the pipeline report", SALES, UNDERWRITING, **READ),
    "report.sales": _a("see the sales report", SALES, **READ),
    "report.tendency": _a("see the buying-tendency report", SALES, **READ),
    "report.claims": _a("see the claims report", CLAIMS, **READ),
    "report.portfolio": _a("see the portfolio report", UNDERWRITING, **READ),
    "report.service": _a("see the service report", SERVICE, **READ),
    "report.risk": _a("see the risk report", UNDERWRITING, **READ),
}

# Every command (as typed after `insurtrack`) and the action it needs. Commands that touch no
# database (init, config path/check/show) need no staff identity: the config file is guarded by
# its file permissions (it is the manager's to edit).
COMMANDS: dict[str, str] = {
    "staff add": "staff.add", "staff list": "staff.read", "staff deactivate": "staff.deactivate",
    "staff activate": "staff.activate",
    "customer add": "customer.add", "customer edit": "customer.edit",
    "customer show": "customer.read", "customer list": "customer.read",
    "customer search": "customer.read", "customer needs": "customer.needs",
    "customer rate": "customer.rate",
    "apply new": "apply.new", "apply deliver": "apply.deliver", "apply docs": "apply.read",
    "apply receive": "apply.receive", "apply require": "apply.require",
    "apply review": "apply.review", "apply submit": "apply.submit",
    "apply withdraw": "apply.withdraw", "apply list": "apply.read", "apply show": "apply.read",
    "underwrite queue": "underwrite.read", "underwrite accept": "underwrite.accept",
    "underwrite decline": "underwrite.decline", "underwrite request-info": "underwrite.request_info",
    "underwrite info-received": "underwrite.info_received",
    "policy issue": "policy.issue", "policy pay": "policy.pay", "policy show": "policy.read",
    "policy list": "policy.read", "policy cancel": "policy.cancel",
    "policy suspend": "policy.suspend", "policy reinstate": "policy.reinstate",
    "policy expire": "policy.expire",
    "renew pay": "policy.pay", "renew upcoming": "policy.read", "renew remind": "renew.remind",
    "renew term": "renew.term",
    "claim report": "claim.report", "claim contact": "claim.contact", "claim assess": "claim.assess",
    "claim request-docs": "claim.request_docs", "claim docs-received": "claim.docs_received",
    "claim investigate": "claim.investigate", "claim findings": "claim.findings",
    "claim approve": "claim.approve", "claim reject": "claim.reject", "claim pay": "claim.pay",
    "claim close": "claim.close", "claim reopen": "claim.reopen", "claim list": "claim.read",
    "claim show": "claim.read",
    "revisit log": "revisit.log", "revisit list": "revisit.read", "revisit show": "revisit.read",
    "revisit feedback open": "feedback.open", "revisit feedback transfer": "feedback.transfer",
    "revisit feedback resolve": "feedback.resolve", "revisit feedback inform": "feedback.inform",
    "revisit feedback reopen": "feedback.reopen", "revisit feedback list": "feedback.read",
    "revisit feedback show": "feedback.read",
    "due": "followup.read", "due --notify": "followup.notify", "due explain": "followup.read",
    "due add": "followup.add", "due done": "followup.done", "due snooze": "followup.snooze",
    "report pipeline": "report.pipeline", "report sales": "report.sales",
    "report tendency": "report.tendency", "report claims": "report.claims",
    "report portfolio": "report.portfolio", "report service": "report.service",
    "report risk": "report.risk",
    "export <records>": "book.export", "import customers": "book.import",
    "import policies": "book.import", "import payments": "book.import",
    "backup": "store.backup", "restore": "store.restore",
    "--reveal (customer list/search/show, export)": "personal_data.reveal",
}


def allowed(action: str) -> frozenset[str]:
    """The departments (and OWN) that may do `action`."""
    return MATRIX[action].who


def permits(actor: Any, action: str, *, department: str | None = None,
            assignee_id: int | None = None) -> bool:
    """May this staff member do `action` (on a record held by `department` / assigned to
    `assignee_id`, where the action says OWN)?"""
    who = MATRIX[action].who
    if actor.department in who:
        return True
    if OWN in who:
        if department is not None and actor.department == department:
            return True
        if assignee_id is not None and getattr(actor, "id", None) == assignee_id:
            return True
    return False


def who_may(action: str, *, department: str | None = None) -> str:
    """'claims and manager', 'service, manager or the department holding it (claims)'."""
    who = MATRIX[action].who
    depts = [d for d in DEPARTMENTS if d in who]
    if set(depts) == set(DEPARTMENTS):
        return "every department"
    names = ", ".join(depts[:-1]) + (" and " if len(depts) > 1 else "") + depts[-1]
    if OWN in who:
        names += f", or the department holding it{f' ({department})' if department else ''} " \
                 "and the person it is assigned to"
    return names


def require(actor: Any, action: str, *, department: str | None = None,
            assignee_id: int | None = None, about: str = "") -> None:
    """Refuse (NotPermitted, exit 5) unless `actor` may do `action`."""
    if permits(actor, action, department=department, assignee_id=assignee_id):
        return
    what = MATRIX[action].what + (f" {about}" if about else "")
    raise NotPermitted(f"{actor.code} ({actor.department}) may not {what} ({action}): that is for "
                       f"{who_may(action, department=department)}")


# -- acting as someone else ------------------------------------------------------------------------

def require_delegation(target: Any, real_code: str, real_source: str,
                       lookup: Callable[[str], Any]) -> None:
    """`--as TARGET` by the person really at the keyboard (INSURTRACK_USER, then user.name, then
    the login name): allowed when that is TARGET themselves or an active manager; otherwise
    NotPermitted. `lookup(code)` gives the staff member with that login, or None."""
    if real_code == target.code:
        return
    real = lookup(real_code) if real_code else None
    base = f"--as {target.code}: acting as someone else needs a manager"
    if real is None:
        raise NotPermitted(
            f"{base}, and you are {real_code!r} (from {real_source}), who is not a registered "
            "staff member; say who you are with INSURTRACK_USER or user.name in the config")
    if not real.active:
        raise NotPermitted(f"{base}; you are {real.code} (from {real_source}), who is deactivated")
    if real.department != MANAGER:
        raise NotPermitted(f"{base}; you are {real.code} ({real.department}, from {real_source})")


# -- the README table ------------------------------------------------------------------------------

def readme_table() -> str:
    """The "Roles and permissions" table of README.md, from COMMANDS and MATRIX."""
    head = "| command | " + " | ".join(DEPARTMENTS) + " |"
    lines = [head, "|---|" + "---|" * len(DEPARTMENTS)]
    for command, action in COMMANDS.items():
        who = MATRIX[action].who
        cells = []
        for d in DEPARTMENTS:
            cells.append("yes" if d in who else ("own" if OWN in who else ""))
        lines.append(f"| `{command}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
