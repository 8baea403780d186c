"""Checks of contact details and identifiers shared by the services (D1: a set format)."""

from __future__ import annotations

import re
from datetime import date

from insurtrack.errors import BadInput


def _shown(value: str) -> str:
    return value if len(value) <= 40 else value[:40] + "…"

_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,30}$")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+$")
_ID_NUMBER = re.compile(r"^[0-9A-Za-z-]{4,40}$")


def _not_masked(field: str, value: str) -> None:
    """A value masked by an export or a list (privacy.py) is not the number: say so."""
    if "*" in value:
        raise BadInput(field, _shown(value), "is masked ('*'): it came from a list or an export "
                                             "made without --reveal; export with --reveal (a "
                                             "manager) to move the real numbers")


def check_phone(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    _not_masked(field, value)
    if not _PHONE.match(value):
        raise BadInput(field, _shown(value), "is not a phone number (digits, spaces, +, -, parentheses)")
    return value


def check_email(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not _EMAIL.match(value) or len(value) > 200:
        raise BadInput(field, _shown(value), "is not an email address")
    return value


def check_id_number(field: str, value: str | None) -> str | None:
    """An identity or registration number: a PRC resident ID (18 characters, checksum verified)
    or any other document number of 4–40 letters, digits and dashes."""
    if value is None:
        return None
    value = value.strip()
    _not_masked(field, value)
    # checked before upper-casing, which turns some letters into others ('ß' into 'SS')
    if not _ID_NUMBER.match(value):
        raise BadInput(field, _shown(value), "is not an ID number (4-40 letters, digits or dashes)")
    value = value.upper()
    if len(value) == 18 and value[:17].isdigit():
        weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        check = "10X98765432"[sum(int(d) * wt for d, wt in zip(value[:17], weights)) % 11]
        if value[17] != check:
            raise BadInput(field, value, f"fails the PRC ID checksum (last character should be {check})")
    return value


def check_past_date(field: str, value: date | None, today: date) -> date | None:
    if value is not None and value > today:
        raise BadInput(field, value.isoformat(), "is in the future")
    return value


def check_satisfaction(field: str, value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 5:
        raise BadInput(field, value, "must be from 1 (very unhappy) to 5 (very happy)")
    return value
