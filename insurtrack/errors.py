"""Domain errors: a message and an exit code, turned into output in one place (cli/app.py).

Exit codes (documented in README.md):
    0  success
    1  internal error (a bug: please report it)
    2  bad input: a malformed or missing value, a broken file
    3  not found: an unknown code
    4  refused: the step is not allowed in the record's current state, or conflicts with a record
    5  not permitted: unknown or inactive acting person, or a second person's check (D2, K4)
    6  configuration error
    7  database error: cannot open, connect to or upgrade the store
    8  `due --fail-on-breach`: something is breached or overdue (cli/due.py)
    9  `due --notify`: a channel failed; its messages are retried on the next run (cli/due.py)
   10  `audit verify`: the audit chain is broken (cli/audit.py)
"""

from __future__ import annotations


class InsurtrackError(Exception):
    """Base of every error a user can cause; never shown with a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(InsurtrackError):
    """A value given on the command line or in a file is malformed or out of range."""

    exit_code = 2

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = "" if value is None else f" {value!r}"
        super().__init__(f"{field}{shown}: {reason}")


class NotFound(InsurtrackError):
    """A code names no record."""

    exit_code = 3

    def __init__(self, kind: str, code: object) -> None:
        self.kind = kind
        self.code = code
        super().__init__(f"no {kind} {code!r}")


class Refused(InsurtrackError):
    """The step is not allowed now: wrong state, broken business rule or conflicting record."""

    exit_code = 4


class IllegalTransition(Refused):
    """The record's state machine does not allow this step from its current state."""

    def __init__(self, kind: str, code: str, state: str, action: str, allowed: list[str]) -> None:
        self.kind, self.code, self.state, self.action, self.allowed = kind, code, state, action, allowed
        steps = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(
            f"cannot {action.replace('_', ' ')} {kind} {code}: it is {state.replace('_', ' ')}; "
            f"allowed steps: {steps}"
        )


class NotPermitted(InsurtrackError):
    """The acting person is unknown, inactive or lacks the right."""

    exit_code = 5


class ConfigError(InsurtrackError):
    """The configuration file is missing, unreadable or has a bad key."""

    exit_code = 6

    def __init__(self, message: str, *, path: object = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = ""
        if path is not None:
            where = f"{path}"
            if key:
                where += f": {key}"
            where += ": "
        elif key:
            where = f"{key}: "
        super().__init__(where + message)


class StoreError(InsurtrackError):
    """The database cannot be opened, reached or upgraded."""

    exit_code = 7
