"""Personal data masking (issue 6): ID and phone numbers as lists, reports and exports show them.

The rule, one place for every command: letters and digits in the middle are replaced by `*`, one
for one; everything else (spaces, '+', '-', parentheses) stays where it was, so the shape of the
number is kept and its length is not hidden.

- ID numbers: 18 or more letters/digits keep the first 6 (a PRC ID's region code) and the last 4:
  `110101199003071234` → `110101********1234` (the birth date and sequence hidden); 15 to 17 keep
  the first 3 and the last 4; 9 to 14 keep the last 4 (a passport `E12345678` shows
  `*****5678`); 5 to 8 keep the last 2; shorter ones are all masked.
- Phone numbers: 11 or more digits keep the first 3 and the last 4: `13812345678` → `138****5678`;
  9 or 10 keep the last 4; 5 to 8 keep the last 2; shorter ones are all masked.

A long ID always hides at least 8 characters, a long phone at least 4 digits, and a shorter number
at least half of its letters/digits (tests/test_privacy.py checks it). A masked value holds `*`, which no
ID or phone number may hold: the importer and every command refuse one (exit 2) with a message
saying it was masked — export with `--reveal` to round-trip the book.

Pure functions, no imports beyond the standard library.
"""

from __future__ import annotations

from typing import Any

MASK = "*"
FIELDS = frozenset({"id_number", "phone", "reporter_phone"})  # keys masked in event payloads


def _keep(count: int, rules: tuple[tuple[int, int, int], ...]) -> tuple[int, int]:
    for at_least, head, tail in rules:
        if count >= at_least:
            return head, tail
    return 0, 0


_ID_RULES = ((18, 6, 4), (15, 3, 4), (9, 0, 4), (5, 0, 2))
_PHONE_RULES = ((11, 3, 4), (9, 0, 4), (5, 0, 2))


def _mask(value: Any, rules: tuple[tuple[int, int, int], ...], counted) -> Any:
    if value is None or value == "":
        return value
    text = str(value)
    count = sum(1 for ch in text if counted(ch))
    head, tail = _keep(count, rules)
    out, seen = [], 0
    for ch in text:
        if counted(ch):
            seen += 1
            out.append(ch if seen <= head or seen > count - tail else MASK)
        else:
            out.append(ch)
    return "".join(out)


def mask_id(value: Any) -> Any:
    """An ID number as lists show it: `110101********1234`."""
    return _mask(value, _ID_RULES, str.isalnum)


def mask_phone(value: Any) -> Any:
    """A phone number as lists show it: `138****5678`."""
    return _mask(value, _PHONE_RULES, lambda ch: "0" <= ch <= "9")


MASKS = {"id_number": mask_id, "phone": mask_phone, "reporter_phone": mask_phone}


def mask_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a row with its ID and phone fields masked."""
    return {k: (MASKS[k](v) if k in MASKS else v) for k, v in record.items()}


def mask_payload(payload: Any, key: str | None = None) -> Any:
    """An event payload with every ID or phone value masked, however deep (an edit's
    {"phone": {"from": …, "to": …}} too)."""
    if isinstance(payload, dict):
        return {k: mask_payload(v, k if k in FIELDS else key) for k, v in payload.items()}
    if isinstance(payload, list):
        return [mask_payload(v, key) for v in payload]
    if key is not None and isinstance(payload, str):
        return MASKS[key](payload)
    return payload


def is_masked(value: str | None) -> bool:
    """True for a value that went through a mask (it holds '*')."""
    return bool(value) and MASK in value
