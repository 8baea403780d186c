"""`insurtrack import`: bring a book over from spreadsheets — customers, policies, payments — as
UTF-8 CSV files (a byte-order mark is fine), with the columns documented in COLUMNS (and in
docs/import.md, and in each command's --help).

Two phases, kept apart so that nothing is written unless every row is good (or --skip-bad):

(a) `check`: read and validate every row in plain Python, writing nothing. The file's structure
    (UTF-8, quotes, number of fields) and each cell are checked with the parsers the commands use
    (cli/options.py, services/validate.py) and the rules the services apply (known staff in the
    right department, known customer, products in plan.products, a term that is a whole number of
    payment periods, a state the policy can be in, nothing in the future…). Look-ups of existing
    records are batched per chunk of rows (one query per chunk, never one per row; a big policies
    file reads the customers' codes once). Every problem is a Problem(line, column, message):
    LINE is the physical line in the file (the header is line 1; a row spanning lines is named by
    its first), COLUMN the header as written in the file. The result is a Plan: the rejected rows
    with their reasons, and the good rows as compact tuples spooled to a temporary file in file
    order, so memory stays flat at any size; what is kept across rows is only what cross-row
    checks need (codes seen, in an array by number; ID numbers; the policies paid).
(b) `write`: the bulk writer (reports/bulk.py) builds the rows, events and follow-ups the services
    would write and writes them a few thousand records at a time with one statement per table;
    `write_through_services` drives the services themselves (customers.add / rate,
    policies.open_policy / pay / suspend / expire / cancel) row by row — the reference the bulk
    writer is tested against, and the writer of payments. Either way everything happens in the
    caller's one transaction, every event is marked `imported: true` with the file's name, and a
    failure rolls the whole import back.

Codes: a row's code is kept when given (and free); rows without one get the next codes after the
book's sequence and after every code given in the good rows, in file order (Plan.blocks). The
sequence is left at the highest code used.
"""

from __future__ import annotations

import csv
import functools
import marshal
import os
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from insurtrack.cli.options import day, instant, money, percent, term_months, text_value
from insurtrack.domain.states import (
    CreditRating,
    CustomerKind,
    Frequency,
    PaymentMethod,
    PolicyStatus,
    RiskLevel,
)
from insurtrack.errors import BadInput, IllegalTransition, InsurtrackError
from insurtrack.services.validate import check_email, check_id_number, check_past_date, check_phone

KINDS = ("customers", "policies", "payments")
CHUNK = 1000          # rows validated per batch of look-ups
WRITE_BATCH = 500     # rows written between flushes (and progress updates)
SHOW_AT_MOST = 50     # problems printed; the rest are counted
BOM = b"\xef\xbb\xbf"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
OWNER_DEPARTMENTS = ("sales", "manager")


@dataclass(frozen=True)
class Col:
    name: str
    help: str
    required: bool = False


COLUMNS: dict[str, tuple[Col, ...]] = {
    "customers": (
        Col("code", "C-000123: kept if given and not in use; else the next free code."),
        Col("kind", "person or company (default person)."),
        Col("name", "Full name of the person or company.", True),
        Col("id_number", "ID card, passport or registration number (PRC ID checksum checked); "
                         "unique."),
        Col("phone", "Phone number."),
        Col("email", "Email address."),
        Col("address", "Postal address."),
        Col("birth_date", "Birth date (person) or founding date (company), YYYY-MM-DD."),
        Col("region", "Region or city."),
        Col("source", "Where the customer came from (referral, walk-in, web…)."),
        Col("owner", "Owning sales person (staff login, sales or manager). Default: you (the "
                     "manager importing)."),
        Col("credit_rating", "A, B, C or D (K3)."),
        Col("risk_level", "low, medium or high (K2)."),
        Col("rating_reason", "Why the rating (default: imported from FILE)."),
        Col("rated_at", "When the rating was made (default: created_at)."),
        Col("notes", "Free-text notes."),
        Col("created_at", "When the customer was added, '2024-05-01 10:00' or ISO 8601 with "
                          "offset (default: now)."),
    ),
    "policies": (
        Col("code", "P-000123: kept if given and not in use; else the next free code."),
        Col("customer", "Customer code (C-…), already in the book.", True),
        Col("owner", "Owning sales person (staff login). Default: the customer's owner."),
        Col("lines", "Product lines PRODUCT:SUM_INSURED:PREMIUM separated by ';', e.g. "
                     "term-life:500000:1200;accident:100000:300 (yearly premiums before any "
                     "rate loading; the whole premium if single)."),
        Col("product", "Instead of lines, one line: product (from plan.products)…"),
        Col("sum_insured", "…its sum insured (with lines: checked against their total)…"),
        Col("premium", "…and its yearly premium (with lines: checked against the policy's "
                       "yearly premium, rate loading included)."),
        Col("rate_loading", "Rate loading in percent, applied to the lines' premiums (needs "
                            "lines)."),
        Col("conditions", "Special conditions."),
        Col("frequency", "single, annual, semi-annual, quarterly or monthly.", True),
        Col("term", "Term of cover: 20y, 6m… (a whole number of payment periods).", True),
        Col("effective_date", "First day of cover, YYYY-MM-DD (the schedule starts there).", True),
        Col("expiry_date", "Last day of cover: checked against effective_date and term."),
        Col("status", "issued, in_force, suspended, expired or cancelled (default: in_force if "
                      "a premium is paid, else issued)."),
        Col("paid_installments", "How many installments are already paid (oldest first)."),
        Col("paid_to", "Instead: every installment due on or before this date is paid."),
        Col("payment_method", "How those were paid (default bank_transfer)."),
        Col("issued_at", "When the policy was issued (default: now)."),
        Col("in_force_at", "When the first premium was paid (default: issued_at)."),
        Col("suspended_at", "status suspended: when (default: now); an installment must then be "
                            "unpaid beyond policy.grace_days."),
        Col("expired_at", "status expired: when (default: now), after the last day of cover."),
        Col("cancelled_at", "status cancelled: when (default: now)."),
        Col("cancel_reason", "status cancelled: why (default: imported from FILE)."),
    ),
    "payments": (
        Col("policy", "Policy code (P-…), issued, in force or suspended.", True),
        Col("amount", "Amount received, e.g. 1200.50; at most what is outstanding.", True),
        Col("method", "bank_transfer, direct_debit, card, cash, cheque, wechat_pay or alipay.",
            True),
        Col("paid_at", "When it was received (default: now); not before the policy's last step."),
        Col("reference", "Bank or receipt reference."),
    ),
}
# Columns `insurtrack export` writes that import accepts and ignores (so an export imports as it
# is); "error" is the column a rejects file adds, so a fixed rejects file imports as it is too.
IGNORED: dict[str, tuple[str, ...]] = {
    "customers": ("updated_at", "error"),
    "policies": ("application", "renewed_from", "error"),
    "payments": ("installment", "recorded_by", "error"),
}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


# -- problems --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def show(self, file: str) -> str:
        where = f"{file}:{self.line}:{self.column}" if self.column else f"{file}:{self.line}"
        return f"{where}: {self.message}"


class BadFile(InsurtrackError):
    """The file cannot be imported (its header or structure is broken, or rows are bad and
    --skip-bad was not given); `problems` says where, line by line."""

    exit_code = 2

    def __init__(self, file: str, problems: list[Problem], message: str = "") -> None:
        self.file, self.problems = file, problems
        super().__init__(message or f"{file} cannot be imported; nothing was imported")


class RowFailed(InsurtrackError):
    """A row passed the checks but a service refused it while writing: everything rolls back."""

    def __init__(self, file: str, line: int, exc: InsurtrackError) -> None:
        self.exit_code = exc.exit_code
        super().__init__(f"{file}:{line}: {exc.message}; nothing was imported")


def parse_maps(entries: Iterable[str] | None) -> dict[str, str]:
    """--map "their header=our column" → {their header (lower case): our column}."""
    out: dict[str, str] = {}
    for entry in entries or ():
        if "=" not in entry:
            raise BadInput("--map", entry, "is not THEIR HEADER=our_column (e.g. 'Kunde=customer')")
        theirs, ours = entry.rsplit("=", 1)
        theirs, ours = theirs.strip().lower(), ours.strip().lower()
        if not theirs or not ours:
            raise BadInput("--map", entry, "is not THEIR HEADER=our_column (e.g. 'Kunde=customer')")
        out[theirs] = ours
    return out


# -- reading the file ------------------------------------------------------------------------------

class _Lines:
    """The file's physical lines, decoded one by one so that a byte that is not UTF-8 is pinned
    to its line; the lines of the record being read are kept for error reports."""

    def __init__(self, stream: Any) -> None:
        self._it = iter(stream)
        self.number = 0
        self.bytes = 0
        self.bom = False
        self.bad: dict[int, int] = {}   # line → the first byte that is not UTF-8
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = next(self._it)
        self.number += 1
        self.bytes += len(raw)
        if self.number == 1 and raw.startswith(BOM):
            raw, self.bom = raw[3:], True
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.bad[self.number] = raw[exc.start]
            text = raw.decode("utf-8", errors="replace")
        self.record.append(text)
        return text


def _locate(raw: str) -> tuple[int, int, bool]:
    """Where a record breaks the CSV quoting rules: (field index, line offset of that field,
    whether a quote is left open to the end of the file)."""
    fld, line, i, n = 0, 0, 0, len(raw)
    while i < n:
        start_line = line
        if raw[i] == '"':
            i += 1
            while True:
                j = raw.find('"', i)
                if j < 0:
                    return fld, start_line, True
                line += raw.count("\n", i, j)
                if raw.startswith('""', j):
                    i = j + 2
                    continue
                i = j + 1
                break
            if i < n and raw[i] not in ",\r\n":
                return fld, start_line, False
        else:
            while i < n and raw[i] not in ",\r\n":
                i += 1
        if i < n and raw[i] == ",":
            fld += 1
            i += 1
            continue
        break
    return fld, line, False


@dataclass
class _Record:
    line: int
    fields: list[str]
    problem: tuple[int, str] | None = None   # (field index, message): a broken record
    fatal: bool = False


def _records(lines: _Lines) -> Iterator[_Record]:
    """The file's records with the line each starts on; broken ones carry their problem."""
    reader = csv.reader(lines, strict=True)
    last = 0
    while True:
        lines.record = []
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raw = "".join(lines.record)
            index, offset, open_quote = _locate(raw)
            start = last + 1 + offset
            last = reader.line_num
            if open_quote:
                yield _Record(start, [], (index, 'a quoted value is never closed (a " without its '
                                                 'partner): the rest of the file cannot be read'),
                              fatal=True)
                return
            yield _Record(start, [], (index, 'text follows the closing quote of a quoted value '
                                             '(write "" for a quote inside a quoted value)'))
            continue
        start, last = last + 1, reader.line_num
        record = _Record(start, fields)
        if lines.bad:
            bad = [n for n in range(start, last + 1) if n in lines.bad]
            if bad:
                index = next((k for k, v in enumerate(fields) if "\ufffd" in v), 0)
                record.problem = (index, f"is not UTF-8 text (byte 0x{lines.bad[bad[0]]:02x}); "
                                         "save the file as UTF-8 (in Excel: CSV UTF-8)")
                record.line = bad[0]
        yield record


def _clean(cell: str) -> str | None:
    """A cell as a value: trimmed, empty as None, and a cell our export neutralised against
    formula injection ('=…) given back as it was."""
    value = cell.strip()
    if not value:
        return None
    if value[0] == "'" and value[1:2] and value[1] in _FORMULA:
        return value[1:]
    return value



# -- compact values ------------------------------------------------------------------------------
# Validated rows are plain tuples of str / int / None (so that they can be spooled to a temporary
# file with marshal and read back in order, keeping memory flat at any file size): money in
# cents, dates as ordinals, instants as microseconds since the epoch (UTC), percentages in
# hundredths. The writers turn them back into Decimal / date / datetime as they need.

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICRO = timedelta(microseconds=1)


def to_us(when: datetime) -> int:
    return (when - _EPOCH) // _MICRO


def from_us(us: int, tz: Any = timezone.utc) -> datetime:
    when = _EPOCH + timedelta(microseconds=us)
    return when if tz is timezone.utc else when.astimezone(tz)


def to_cents(value: Decimal) -> int:
    return int(value.scaleb(2))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


# Customers: (line, number, kind, name, id_number, phone, email, address, birth_date, region,
# source, owner login, owner id, notes, created_at, credit_rating, risk_level, rating_reason,
# rated_at)
C_LINE, C_NUMBER, C_KIND, C_NAME, C_ID_NUMBER, C_PHONE, C_EMAIL, C_ADDRESS, C_BIRTH, C_REGION, \
    C_SOURCE, C_OWNER, C_OWNER_ID, C_NOTES, C_CREATED, C_CREDIT, C_RISK, C_REASON, C_RATED = range(19)
# Policies: (line, number, customer code, customer id, customer's owner id, owner id, frequency,
# term months, effective date, lines ((product, sum insured, premium), ...), yearly premium,
# rate loading, conditions, status, paid installments, payment method, issued_at, in_force_at,
# ended_at (suspended, expired or cancelled), cancel reason)
P_LINE, P_NUMBER, P_CUSTOMER, P_CUSTOMER_ID, P_CUSTOMER_OWNER, P_OWNER_ID, P_FREQUENCY, P_MONTHS, \
    P_EFFECTIVE, P_LINES, P_PREMIUM, P_LOADING, P_CONDITIONS, P_STATUS, P_PAID, P_METHOD, \
    P_ISSUED, P_IN_FORCE, P_ENDED, P_REASON = range(20)
# Payments: (line, policy code, amount, method, reference, paid_at)
Y_LINE, Y_POLICY, Y_AMOUNT, Y_METHOD, Y_REFERENCE, Y_PAID = range(6)


class _Firsts:
    """The first line each code number was seen on: an array for the dense low numbers codes
    have (4 bytes a code), a dict beyond."""

    CAP = 1 << 24

    def __init__(self) -> None:
        self.low = array("i")
        self.high: dict[int, int] = {}

    def first(self, number: int, line: int) -> int:
        if number >= self.CAP:
            return self.high.setdefault(number, line)
        low = self.low
        if number >= len(low):
            low.frombytes(bytes(4 * (max(number + 1, 2 * len(low), 1024) - len(low))))
        found = low[number]
        if not found:
            low[number] = line
            return line
        return found


class IntMap:
    """number → a non-negative int (0: none): an array for dense numbers, a dict beyond."""

    CAP = 1 << 24

    def __init__(self) -> None:
        self.low = array("q")
        self.high: dict[int, int] = {}

    def get(self, number: int) -> int:
        if number >= self.CAP:
            return self.high.get(number, 0)
        low = self.low
        return low[number] if number < len(low) else 0

    def put(self, number: int, value: int) -> None:
        if number >= self.CAP:
            self.high[number] = value
            return
        low = self.low
        if number >= len(low):
            low.frombytes(bytes(8 * (max(number + 1, 2 * len(low), 1024) - len(low))))
        low[number] = value


# -- the plan -------------------------------------------------------------------------------------

@dataclass
class Rejected:
    line: int
    fields: list[str]
    problems: list[Problem]

    def reason(self) -> str:
        return f"line {self.line}: " + "; ".join(
            f"{p.column}: {p.message}" if p.column else p.message for p in self.problems)


SPOOL_BATCH = 4096    # validated rows per marshalled block of the spool


@dataclass
class Plan:
    """What phase (a) found: how many rows are good (kept, compact, in a temporary spool file, in
    file order) and the rows rejected."""

    kind: str
    file: str
    header: list[str]
    bom: bool
    count: int = 0             # good rows
    rejected: list[Rejected] = field(default_factory=list)
    sequence: int = 0          # the book's code sequence before the import
    top: int = 0               # the highest code number of the good rows (and the sequence)
    unnumbered: int = 0        # good rows without a code: they get top + 1, top + 2…
    lines_read: int = 0
    tz: Any = timezone.utc     # the clock's timezone: instants are read back in it
    _spool: Any = None
    _pending: list = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rejected for p in r.problems]

    @property
    def highest(self) -> int:
        """The highest code number once every good row has its code: where the sequence is
        left."""
        return self.top + self.unnumbered

    def _keep(self, row: tuple) -> None:
        self.count += 1
        self._pending.append(row)
        if len(self._pending) >= SPOOL_BATCH:
            self._spill()

    def _spill(self) -> None:
        if not self._pending:
            return
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="insurtrack-import-")
        marshal.dump(self._pending, self._spool)
        self._pending = []

    def blocks(self) -> Iterator[list[tuple]]:
        """The good rows in file order, in blocks, with their codes allocated: a row without a
        code gets the next number after the book's sequence and every code of the good rows."""
        top = self.top
        allocate = self.kind != "payments"
        for block in self._blocks():
            if allocate:
                for k, row in enumerate(block):
                    if row[1] is None:
                        top += 1
                        block[k] = (row[0], top, *row[2:])
            yield block

    def _blocks(self) -> Iterator[list[tuple]]:
        if self._spool is not None:
            self._spool.seek(0)
            while True:
                try:
                    yield marshal.load(self._spool)
                except EOFError:
                    break
        if self._pending:
            yield list(self._pending)

    def rows(self) -> Iterator[tuple]:
        for block in self.blocks():
            yield from block

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._pending = []


# -- the rows as the service writer takes them ---------------------------------------------------

@dataclass(slots=True)
class CustomerRow:
    line: int
    number: int | None        # the code's number (C-000123 → 123), allocated if not given
    kind: str
    name: str
    id_number: str | None
    phone: str | None
    email: str | None
    address: str | None
    birth_date: date | None
    region: str | None
    source: str | None
    owner: str
    notes: str | None
    created_at: datetime
    credit_rating: str | None
    risk_level: str | None
    rating_reason: str | None
    rated_at: datetime | None

    @property
    def code(self) -> str:
        return f"C-{self.number:06d}"

    @classmethod
    def of(cls, t: tuple, tz: Any) -> CustomerRow:
        return cls(line=t[C_LINE], number=t[C_NUMBER], kind=t[C_KIND], name=t[C_NAME],
                   id_number=t[C_ID_NUMBER], phone=t[C_PHONE], email=t[C_EMAIL],
                   address=t[C_ADDRESS],
                   birth_date=date.fromordinal(t[C_BIRTH]) if t[C_BIRTH] is not None else None,
                   region=t[C_REGION], source=t[C_SOURCE], owner=t[C_OWNER], notes=t[C_NOTES],
                   created_at=from_us(t[C_CREATED], tz), credit_rating=t[C_CREDIT],
                   risk_level=t[C_RISK], rating_reason=t[C_REASON],
                   rated_at=from_us(t[C_RATED], tz))


@dataclass(slots=True)
class PolicyRow:
    line: int
    number: int | None
    customer: str
    customer_id: int
    owner_id: int
    frequency: str
    term_months: int
    effective_date: date
    lines: tuple[tuple[str, Decimal, Decimal], ...]
    premium: Decimal            # yearly, rate loading included
    rate_loading: Decimal | None
    conditions: str | None
    status: str
    paid_installments: int
    paid_amount: Decimal        # the first paid_installments installments
    payment_method: str
    issued_at: datetime
    in_force_at: datetime | None
    ended_at: datetime | None   # suspended_at, expired_at or cancelled_at, as status says
    cancel_reason: str | None

    @property
    def code(self) -> str:
        return f"P-{self.number:06d}"

    @classmethod
    def of(cls, t: tuple, tz: Any) -> PolicyRow:
        from insurtrack.domain import schedule

        premium = from_cents(t[P_PREMIUM])
        amounts = schedule.installment_amounts(premium, t[P_FREQUENCY], t[P_MONTHS])
        return cls(
            line=t[P_LINE], number=t[P_NUMBER], customer=t[P_CUSTOMER],
            customer_id=t[P_CUSTOMER_ID], owner_id=t[P_OWNER_ID], frequency=t[P_FREQUENCY],
            term_months=t[P_MONTHS], effective_date=date.fromordinal(t[P_EFFECTIVE]),
            lines=tuple((p, from_cents(s), from_cents(c)) for p, s, c in t[P_LINES]),
            premium=premium,
            rate_loading=from_cents(t[P_LOADING]) if t[P_LOADING] is not None else None,
            conditions=t[P_CONDITIONS], status=t[P_STATUS], paid_installments=t[P_PAID],
            paid_amount=sum(amounts[:t[P_PAID]], ZERO), payment_method=t[P_METHOD],
            issued_at=from_us(t[P_ISSUED], tz),
            in_force_at=from_us(t[P_IN_FORCE], tz) if t[P_IN_FORCE] is not None else None,
            ended_at=from_us(t[P_ENDED], tz) if t[P_ENDED] is not None else None,
            cancel_reason=t[P_REASON])


@dataclass(slots=True)
class PaymentRow:
    line: int
    policy: str
    amount: Decimal
    method: str
    reference: str | None
    paid_at: datetime

    @classmethod
    def of(cls, t: tuple, tz: Any) -> PaymentRow:
        return cls(line=t[Y_LINE], policy=t[Y_POLICY], amount=from_cents(t[Y_AMOUNT]),
                   method=t[Y_METHOD], reference=t[Y_REFERENCE], paid_at=from_us(t[Y_PAID], tz))


# -- one row being checked -------------------------------------------------------------------------

class _Row:
    """A row's cells by our column names, collecting its problems under the file's headers."""

    __slots__ = ("line", "values", "problems", "theirs")

    def __init__(self, line: int, values: dict[str, str | None], theirs: dict[str, str]) -> None:
        self.line, self.values, self.theirs = line, values, theirs
        self.problems: list[Problem] = []

    def get(self, col: str) -> str | None:
        return self.values.get(col)

    def fail(self, col: str, message: str) -> None:
        self.problems.append(Problem(self.line, self.theirs.get(col, col), message))

    def bad(self, col: str, exc: BadInput) -> None:
        self.fail(col, reason(exc))

    def required(self, col: str, what: str = "") -> str | None:
        value = self.values.get(col)
        if value is None:
            self.fail(col, "is required" + (f": {what}" if what else ""))
        return value

    def parse(self, col: str, parser: Callable[..., Any], *args: Any, need: bool = False,
              **kw: Any) -> Any:
        raw = self.required(col) if need else self.values.get(col)
        if raw is None:
            return None
        try:
            return parser(col, raw, *args, **kw)
        except BadInput as exc:
            self.bad(col, exc)
            return None

    def text(self, col: str, max_len: int) -> str | None:
        raw = self.values.get(col)
        if raw is None:
            return None
        if len(raw) <= max_len and raw.isprintable():  # the common case: nothing to refuse
            return raw
        return self.parse(col, text_value, max_len=max_len)

    def choice(self, col: str, enum: Any, *, need: bool = False, upper: bool = False) -> Any:
        raw = self.required(col) if need else self.values.get(col)
        if raw is None:
            return None
        try:
            return enum(raw.upper() if upper else raw.lower())
        except ValueError:
            self.fail(col, f"{raw!r} is not one of: {', '.join(e.value for e in enum)}")
            return None

    def code(self, col: str, prefix: str, *, need: bool = False) -> str | None:
        raw = self.required(col) if need else self.values.get(col)
        if raw is None:
            return None
        code = raw.upper()
        head, _, digits = code.partition("-")
        if head != prefix or not digits.isdigit() or code != f"{prefix}-{int(digits):06d}":
            self.fail(col, f"{raw!r} is not a code like {prefix}-000123")
            return None
        return code

    def day(self, col: str, *, need: bool = False) -> date | None:
        raw = self.values.get(col)
        if raw is not None and len(raw) == 10 and raw.isascii() and raw[4] == "-" \
                and raw[7] == "-" and raw[:4].isdigit() and raw[5:7].isdigit() \
                and raw[8:].isdigit():
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        return self.parse(col, day, need=need)

    def money(self, col: str, *, need: bool = False, allow_zero: bool = True) -> Decimal | None:
        return self.parse(col, money, need=need, allow_zero=allow_zero)

    def moment(self, col: str, ctx: _Context, *, not_before: datetime | None = None,
               what: str = "") -> datetime | None:
        """An instant that has happened, not before `not_before`."""
        when = self.parse(col, _instant, tz=ctx.tz, now=ctx.now)
        if when is None:
            return None
        if when > ctx.now:
            self.fail(col, f"{self.values[col]!r} is in the future; a step can only be recorded "
                           "when it has happened")
            return None
        if not_before is not None and when < not_before:
            self.fail(col, f"{self.values[col]!r} is before {what} ({ctx.show(not_before)})")
            return None
        return when


def _instant(field: str, text: str, *, tz: Any, now: datetime) -> datetime:
    """cli.options.instant, with a shortcut for what export writes (ISO 8601 with an offset),
    which it reads the same way: the instant the offset says, in the clock's timezone."""
    raw = text.strip()
    if len(raw) >= 25 and raw[10] == "T" and raw[-6] in "+-" and raw[-3] == ":":
        try:
            return datetime.fromisoformat(raw).astimezone(now.tzinfo)
        except ValueError:
            pass
    return instant(field, text, tz=tz, now=now)


def reason(exc: BadInput) -> str:
    return exc.reason if exc.value is None else f"{exc.value!r} {exc.reason}"


# -- context: what the checks look up --------------------------------------------------------------

@dataclass
class _Context:
    session: Any
    settings: Any
    file: str
    now: datetime
    tz: Any
    actor: tuple[str, str]                      # login, department
    staff: dict[str, tuple[int, str, bool]]     # login → (id, department, active)
    staff_login: dict[int, str]
    seen: dict[Any, int] = field(default_factory=dict)   # ID numbers… → first line
    codes: _Firsts = field(default_factory=_Firsts)       # code numbers → first line

    @functools.cached_property
    def because(self) -> str:
        """The default reason of a rating or cancellation (one string shared by every row)."""
        return f"imported from {self.file}"

    def show(self, when: datetime) -> str:
        return when.astimezone(self.tz).strftime("%Y-%m-%d %H:%M %Z")

    def person(self, r: _Row, col: str, login: str, *, what: str = "") -> int | None:
        """A staff member who may own records: known, active, in sales (or a manager)."""
        found = self.staff.get(login)
        if found is None:
            r.fail(col, f"no staff member {login!r}{what}")
            return None
        sid, dept, active = found
        if not active:
            r.fail(col, f"{login!r}{what} is deactivated")
            return None
        if dept not in OWNER_DEPARTMENTS:
            r.fail(col, f"{login!r}{what} is in {dept}; an owner works in sales")
            return None
        return sid

    def once(self, r: _Row, col: str, key: Any, shown: str) -> bool:
        """False (and a problem) when `key` was already on an earlier line of the file."""
        first = self.seen.setdefault(key, r.line)
        if first != r.line:
            r.fail(col, f"{shown} is also on line {first}")
            return False
        return True

    def once_code(self, r: _Row, col: str, code: str) -> bool:
        """`once` for a code (C-000123…), kept by its number in flat memory."""
        first = self.codes.first(int(code.partition("-")[2]), r.line)
        if first != r.line:
            r.fail(col, f"{code} is also on line {first}")
            return False
        return True


def _in_chunks(session: Any, query: Callable[[list], Any], keys: Iterable[Any]) -> list[Any]:
    """The rows `query` finds for the keys, 500 keys to a statement. A text key holding a NUL
    byte names nothing in the store (no field takes one; PostgreSQL refuses it in a query with
    an error): it is not looked up, and its row's own check refuses it."""
    keys = sorted({k for k in keys if k and not (isinstance(k, str) and "\x00" in k)})
    out: list[Any] = []
    for i in range(0, len(keys), 500):
        out += session.execute(query(keys[i:i + 500])).all()
    return out


# -- the checks of each kind -----------------------------------------------------------------------

class _Customers:
    kind, prefix, sequence = "customers", "C", "customer"

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx

    def lookup(self, rows: list[_Row]) -> None:
        from sqlalchemy import select

        from insurtrack.domain import models as m

        s = self.ctx.session
        self.taken = {c for (c,) in _in_chunks(
            s, lambda k: select(m.Customer.code).where(m.Customer.code.in_(k)),
            ((r.get("code") or "").upper() for r in rows))}
        ids = []
        for r in rows:
            raw = r.get("id_number")
            if raw:
                try:
                    ids.append(check_id_number("id_number", raw))
                except BadInput:
                    pass
        self.ids = dict(_in_chunks(
            s, lambda k: select(m.Customer.id_number, m.Customer.code)
            .where(m.Customer.id_number.in_(k)), ids))

    def check(self, r: _Row) -> tuple | None:
        ctx = self.ctx
        code = r.code("code", "C")
        if code is not None:
            if code in self.taken:
                r.fail("code", f"{code} is already a customer in the book")
            ctx.once_code(r, "code", code)
        kind = r.choice("kind", CustomerKind) or CustomerKind.PERSON
        name = r.parse("name", text_value, need=True, required=True, max_len=200)
        id_number = r.parse("id_number", check_id_number)
        if id_number is not None:
            if id_number in self.ids:
                r.fail("id_number", f"customer {self.ids[id_number]} already has ID number "
                                    f"{id_number}")
            ctx.once(r, "id_number", id_number, f"ID number {id_number}")
        phone = r.parse("phone", check_phone)
        email = r.parse("email", check_email)
        address, notes = r.text("address", 2000), r.text("notes", 2000)
        region, source = r.text("region", 100), r.text("source", 100)
        created = r.moment("created_at", ctx)
        when = created or ctx.now
        birth = r.day("birth_date")
        if birth is not None:
            try:
                check_past_date("birth_date", birth, when.date())
            except BadInput as exc:
                r.bad("birth_date", exc)
        owner = r.get("owner")
        if owner is None:
            login, dept = ctx.actor
            if dept not in OWNER_DEPARTMENTS:
                r.fail("owner", "is required: name the sales person who owns the customer")
            owner = login
            owner_id = ctx.staff[login][0] if login in ctx.staff else None
        else:
            owner_id = ctx.person(r, "owner", owner)
        credit = r.choice("credit_rating", CreditRating, upper=True)
        risk = r.choice("risk_level", RiskLevel)
        why = r.text("rating_reason", 4000)
        rated = r.moment("rated_at", ctx, not_before=when, what="the customer was added")
        if credit is None and risk is None and r.get("credit_rating") is None \
                and r.get("risk_level") is None:
            for col in ("rating_reason", "rated_at"):
                if r.get(col) is not None:
                    r.fail(col, "goes with a credit_rating or risk_level")
        if r.problems:
            return None
        return (r.line, int(code[2:]) if code else None, kind.value, name, id_number, phone, email,
                address, birth.toordinal() if birth is not None else None, region, source, owner,
                owner_id, notes, to_us(when), credit and credit.value, risk and risk.value,
                why or ctx.because, to_us(rated or when))


def _quantize(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_MONTHS = {f.value: f.months for f in Frequency}


@functools.lru_cache(maxsize=8192)
def _dates(effective: date, frequency: str, months: int) -> tuple[date, ...]:
    from insurtrack.domain import schedule

    return tuple(schedule.installment_dates(effective, frequency, months))


@functools.lru_cache(maxsize=8192)
def _expiry(effective: date, months: int) -> date:
    from insurtrack.domain import schedule

    return schedule.expiry_date(effective, months)


class _Policies:
    kind, prefix, sequence = "policies", "P", "policy"

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.products: list[str] = ctx.settings["plan.products"]
        self.folded = {p.casefold(): p for p in reversed(self.products)}
        self.grace: int = ctx.settings["policy.grace_days"]
        self.customers = IntMap()   # customer number → id << 24 | owner id
        self.loaded = False          # every customer of the book is in `customers`

    def load_customers(self) -> None:
        """Resolve customers by code from one read of the whole table (a big file)."""
        from sqlalchemy import select

        from insurtrack.domain import models as m

        result = self.ctx.session.execute(
            select(m.Customer.code, m.Customer.id, m.Customer.owner_id)
            .execution_options(yield_per=20000))
        put = self.customers.put
        for code, cid, owner in result:
            head, _, digits = code.partition("-")
            if head == "C" and digits.isdigit() and code == f"C-{int(digits):06d}":
                put(int(digits), cid << 24 | owner)
        self.loaded = True

    def lookup(self, rows: list[_Row]) -> None:
        from sqlalchemy import select

        from insurtrack.domain import models as m

        s = self.ctx.session
        self.taken = {c for (c,) in _in_chunks(
            s, lambda k: select(m.Policy.code).where(m.Policy.code.in_(k)),
            ((r.get("code") or "").upper() for r in rows))}
        if self.loaded:
            return
        wanted = set()
        for r in rows:
            code = (r.get("customer") or "").upper()
            digits = code[2:]
            if code[:2] == "C-" and digits.isdigit() and not self.customers.get(int(digits)):
                wanted.add(code)
        for code, cid, owner in _in_chunks(
                s, lambda k: select(m.Customer.code, m.Customer.id, m.Customer.owner_id)
                .where(m.Customer.code.in_(k)), wanted):
            self.customers.put(int(code[2:]), cid << 24 | owner)

    def _product(self, r: _Row, col: str, name: str) -> str | None:
        name = name.strip()
        if not name or len(name) > 64:
            r.fail(col, f"{name!r} is not a product code")
            return None
        if self.products:
            found = self.folded.get(name.casefold())
            if found is None:
                r.fail(col, f"{name!r} is not a product; valid products: "
                            f"{', '.join(self.products)}")
            return found
        return name

    def _lines(self, r: _Row) -> list[tuple[str, Decimal, Decimal]] | None:
        text = r.get("lines")
        if text is not None:
            for col in ("product",):
                if r.get(col) is not None:
                    r.fail(col, "goes in the lines column when lines is given")
            out = []
            for part in text.split(";"):
                if not part.strip():
                    continue
                bits = part.split(":")
                if len(bits) != 3:
                    r.fail("lines", f"{part.strip()!r} is not PRODUCT:SUM_INSURED:PREMIUM "
                                    "(e.g. term-life:500000:1200)")
                    return None
                product = self._product(r, "lines", bits[0])
                amounts = []
                for what, raw in (("sum insured", bits[1]), ("premium", bits[2])):
                    try:
                        amounts.append(money("lines", raw, allow_zero=False))
                    except BadInput as exc:
                        r.fail("lines", f"{part.strip()!r}: the {what} {raw.strip()!r} "
                                        f"{exc.reason}")
                        return None
                if product is None:
                    return None
                out.append((product, amounts[0], amounts[1]))
            if not out:
                r.fail("lines", "names no product line")
                return None
            return out
        what = "give product, sum_insured and premium, or lines"
        product = r.required("product", what)
        product = product and self._product(r, "product", product)
        insured = r.money("sum_insured", need=True, allow_zero=False)
        premium = r.money("premium", need=True, allow_zero=False)
        if product is None or insured is None or premium is None:
            return None
        return [(product, insured, premium)]

    def check(self, r: _Row) -> tuple | None:
        ctx = self.ctx
        code = r.code("code", "P")
        if code is not None:
            if code in self.taken:
                r.fail("code", f"{code} is already a policy in the book")
            ctx.once_code(r, "code", code)
        customer = r.code("customer", "C", need=True)
        found = None
        if customer:
            packed = self.customers.get(int(customer[2:]))
            if packed:
                found = (packed >> 24, packed & 0xFFFFFF)
            else:
                r.fail("customer", f"no customer {customer!r} in the book (import the customers "
                                   "first)")
        owner_id = None
        if r.get("owner") is not None:
            owner_id = ctx.person(r, "owner", r.get("owner"))
        elif found is not None:
            login = ctx.staff_login.get(found[1], "")
            owner_id = ctx.person(r, "owner", login, what=" (the customer's owner)")
        freq = r.choice("frequency", Frequency, need=True)
        every = _MONTHS[freq.value] if freq is not None else None
        months = r.parse("term", term_months, need=True)
        if freq is not None and months is not None and every and months % every:
            r.fail("term", f"{r.get('term')!r} is not a whole number of {freq.value} payment "
                           f"periods ({every} months each)")
            months = None
        effective = r.day("effective_date", need=True)
        lines = self._lines(r)
        loading = r.parse("rate_loading", percent)
        if loading is not None and r.get("lines") is None:
            r.fail("rate_loading", "needs the lines column (the lines' premiums before loading)")
        conditions = r.text("conditions", 4000)
        premium = None
        if lines is not None:
            yearly = sum((p for _, _, p in lines), ZERO)
            premium = _quantize(yearly * (1 + loading / 100)) if loading else yearly
            if r.get("lines") is not None:
                insured = r.money("sum_insured")
                total = sum((s for _, s, _ in lines), ZERO)
                if insured is not None and insured != total:
                    r.fail("sum_insured", f"{insured} is not the total of the lines ({total})")
                stated = r.money("premium")
                if stated is not None and stated != premium:
                    extra = f" plus {loading}% rate loading" if loading else ""
                    r.fail("premium", f"{stated} is not the policy's yearly premium {premium} "
                                      f"(the lines' {yearly}{extra})")
        if effective is not None and months is not None and r.get("expiry_date") is not None:
            expiry = r.day("expiry_date")
            expected = _expiry(effective, months)
            if expiry is not None and expiry != expected:
                r.fail("expiry_date", f"{expiry} is not the last day of a {r.get('term')} term "
                                      f"from {effective} ({expected})")
        issued = r.moment("issued_at", ctx) or ctx.now
        status = r.choice("status", PolicyStatus)
        count = None
        if freq is not None and months is not None:
            count = 1 if freq is Frequency.SINGLE else months // every
        paid = r.parse("paid_installments", _count)
        if r.get("paid_to") is not None:
            if r.get("paid_installments") is not None:
                r.fail("paid_to", "give paid_installments or paid_to, not both")
            else:
                upto = r.day("paid_to")
                if upto is not None and count is not None and effective is not None:
                    dates = _dates(effective, freq.value, months)
                    paid = sum(1 for d in dates if d <= upto)
        paid = paid or 0
        if count is not None and paid > count:
            r.fail("paid_installments", f"{paid} is more than the {count} installment(s) of the "
                                        "schedule")
        method = r.choice("payment_method", PaymentMethod) or PaymentMethod.BANK_TRANSFER
        if status is None:
            status = PolicyStatus.IN_FORCE if paid else PolicyStatus.ISSUED
        in_force = None
        if paid:
            in_force = r.moment("in_force_at", ctx, not_before=issued, what="issued_at") or issued
        elif r.get("in_force_at") is not None:
            r.fail("in_force_at", "goes with a premium paid (paid_installments)")
        if status is PolicyStatus.ISSUED and paid:
            r.fail("status", "issued means no premium is paid yet; a paid policy is in_force (L5)")
        needs_paid = (PolicyStatus.IN_FORCE, PolicyStatus.SUSPENDED, PolicyStatus.EXPIRED)
        if status in needs_paid and not paid:
            r.fail("status", f"{status.value} needs its first premium paid (paid_installments of "
                             "at least 1)")
        ended = None
        ends = {PolicyStatus.SUSPENDED: "suspended_at", PolicyStatus.EXPIRED: "expired_at",
                PolicyStatus.CANCELLED: "cancelled_at"}
        for st, col in ends.items():
            if st is not status and r.get(col) is not None:
                r.fail(col, f"goes with status {st.value}")
        if status in ends:
            ended = r.moment(ends[status], ctx, not_before=in_force or issued,
                             what="the policy's previous step") or ctx.now
        reason_ = r.text("cancel_reason", 4000)
        if status is not PolicyStatus.CANCELLED and reason_ is not None:
            r.fail("cancel_reason", "goes with status cancelled")
        if r.problems or effective is None or months is None or premium is None:
            return None
        on = ended.astimezone(ctx.tz).date() if ended else None
        if status is PolicyStatus.SUSPENDED:
            if paid >= count:
                r.fail("status", "suspended needs an unpaid installment, but all are paid")
            else:
                due = _dates(effective, freq.value, months)[paid]
                if (on - due).days <= self.grace:
                    r.fail("status", f"cannot be suspended on {on}: installment {paid + 1} (due "
                                     f"{due}) is in its {self.grace}-day grace period until "
                                     f"{due + timedelta(days=self.grace)} (PRC Insurance Law "
                                     "art. 36)")
        if status is PolicyStatus.EXPIRED:
            expiry = _expiry(effective, months)
            if on <= expiry:
                r.fail("status", f"cannot be expired on {on}: it covers until {expiry}")
        if r.problems:
            return None
        return (r.line, int(code[2:]) if code else None, customer, found[0], found[1], owner_id,
                freq.value, months, effective.toordinal(),
                tuple((p, to_cents(s), to_cents(c)) for p, s, c in lines), to_cents(premium),
                to_cents(loading) if loading is not None else None, conditions, status.value,
                paid, method.value, to_us(issued), to_us(in_force) if in_force else None,
                to_us(ended) if ended else None,
                (reason_ or ctx.because) if status is PolicyStatus.CANCELLED else None)


def _count(field: str, text: str) -> int:
    raw = text.strip()
    if not raw.isdigit():
        raise BadInput(field, text, "is not a whole number of installments (0, 1, 2…)")
    return int(raw)


_STATES = ("issued", "in_force", "suspended", "expired", "cancelled")


class _Payments:
    """The policies paid are followed in flat memory, by code number: their state, what they
    still owe (rows of the same policy add up) and the time of their last step."""

    kind, prefix, sequence = "payments", "", ""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.state = IntMap()   # policy number → state index + 1
        self.owed = IntMap()    # policy number → cents outstanding
        self.last = IntMap()    # policy number → last step, µs since the epoch

    def lookup(self, rows: list[_Row]) -> None:
        from sqlalchemy import func, select

        from insurtrack.domain import models as m

        s = self.ctx.session
        wanted = set()
        for r in rows:
            code = (r.get("policy") or "").upper()
            digits = code[2:]
            if code[:2] == "P-" and digits.isdigit() and code == f"P-{int(digits):06d}" \
                    and not self.state.get(int(digits)):
                wanted.add(code)
        found = _in_chunks(s, lambda k: select(m.Policy.code, m.Policy.id, m.Policy.status,
                                               m.Policy.issued_at).where(m.Policy.code.in_(k)),
                           wanted)
        if not found:
            return
        ids = {pid: code for code, pid, _, _ in found}
        owed = {pid: a - p for pid, a, p in _in_chunks(
            s, lambda k: select(m.Installment.policy_id, func.sum(m.Installment.amount),
                                func.sum(m.Installment.paid_amount))
            .where(m.Installment.policy_id.in_(k),
                   m.Installment.status.in_(("due", "partially_paid")))
            .group_by(m.Installment.policy_id), ids)}
        last = dict(_in_chunks(
            s, lambda k: select(m.Event.subject, func.max(m.Event.occurred_at))
            .where(m.Event.subject.in_(k)).group_by(m.Event.subject), ids.values()))
        for code, pid, status, issued in found:
            latest = max(t for t in (issued, last.get(code)) if t is not None)
            number = int(code[2:])
            self.state.put(number, _STATES.index(status) + 1)
            self.owed.put(number, to_cents(owed.get(pid, ZERO)))
            self.last.put(number, to_us(latest))

    def check(self, r: _Row) -> tuple | None:
        from insurtrack.domain import states

        ctx = self.ctx
        code = r.code("policy", "P", need=True)
        number = int(code[2:]) if code else 0
        status = _STATES[self.state.get(number) - 1] if code and self.state.get(number) else None
        if code and status is None:
            r.fail("policy", f"no policy {code!r} in the book")
        amount = r.money("amount", need=True, allow_zero=False)
        method = r.choice("method", PaymentMethod, need=True)
        reference = r.text("reference", 100)
        when = r.moment("paid_at", ctx)
        if status is not None:
            try:
                states.transition("policy", status, "pay", code)
            except IllegalTransition as exc:
                r.fail("policy", exc.message)
                status = None
        if status is not None:
            outstanding = from_cents(self.owed.get(number))
            last = from_us(self.last.get(number), ctx.now.tzinfo)
            if amount is not None and amount > outstanding:
                r.fail("amount", f"cannot take {amount} on policy {code}: only {outstanding} "
                                 "is outstanding")
            if when is not None and when < last:
                r.fail("paid_at", f"{r.get('paid_at')!r} is before the previous step of policy "
                                  f"{code} ({ctx.show(last)})")
        if r.problems:
            return None
        paid_at = when or ctx.now
        self.owed.put(number, self.owed.get(number) - to_cents(amount))
        self.last.put(number, to_us(paid_at))
        if status == PolicyStatus.ISSUED.value:
            self.state.put(number, _STATES.index(PolicyStatus.IN_FORCE.value) + 1)
        return (r.line, code, to_cents(amount), method.value, reference, to_us(paid_at))


_CHECKERS = {"customers": _Customers, "policies": _Policies, "payments": _Payments}


# -- phase (a): check ------------------------------------------------------------------------------

def _header(file: str, kind: str, fields: list[str], mapping: dict[str, str]
            ) -> tuple[list[str | None], dict[str, str], list[Problem]]:
    """Our column for each position of the header (None: ignored), our → their names, problems."""
    known = [c.name for c in COLUMNS[kind]]
    ignored = IGNORED[kind]
    for theirs, ours in mapping.items():
        if ours not in known:
            raise BadInput("--map", f"{theirs}={ours}",
                           f"{ours!r} is not a column of the {kind} import; columns: "
                           f"{', '.join(known)}")
    present = {f.strip().lower() for f in fields}
    for theirs in mapping:
        if theirs not in present:
            raise BadInput("--map", theirs, f"{file} has no column with this header")
    problems: list[Problem] = []
    ours_at: list[str | None] = []
    theirs_of: dict[str, str] = {}
    for k, raw in enumerate(fields):
        theirs = raw.strip()
        name = mapping.get(theirs.lower(), theirs.lower())
        shown = theirs or str(k + 1)
        if name in known:
            if name in theirs_of:
                problems.append(Problem(1, shown, f"is column {name} again (also "
                                                  f"{theirs_of[name]!r})"))
            theirs_of[name] = shown
            ours_at.append(name)
        elif name in ignored:
            ours_at.append(None)
        else:
            problems.append(Problem(1, shown, f"unknown column; the {kind} columns are "
                                              f"{', '.join(known)} (rename yours with --map "
                                              "'THEIR HEADER=column')"))
            ours_at.append(None)
    for c in COLUMNS[kind]:
        if c.required and c.name not in theirs_of:
            problems.append(Problem(1, c.name, "missing: this column is required"))
    if kind == "policies" and "lines" not in theirs_of:
        for name in ("product", "sum_insured", "premium"):
            if name not in theirs_of:
                problems.append(Problem(1, name, "missing: give product, sum_insured and "
                                                 "premium, or a lines column"))
    return ours_at, theirs_of, problems


def check(w: Any, kind: str, path: str, *, file: str | None = None,
          mapping: dict[str, str] | None = None,
          progress: Callable[[str, int, int], None] | None = None) -> Plan:
    """Phase (a): read and validate every row of `path`; nothing is written. Raises BadFile when
    the file as a whole cannot be imported (no header, unknown or missing columns, a quote left
    open). The good rows are kept compact in the plan's spool (flat memory at any size)."""
    w.require("book.import")  # managers (services/permissions.py)
    from sqlalchemy import func, select

    from insurtrack.domain import models as m

    file = file or path
    size = os.path.getsize(path)
    staff_rows = w.session.execute(select(m.Staff.id, m.Staff.code, m.Staff.department,
                                          m.Staff.active)).all()
    now = w.now()
    ctx = _Context(session=w.session, settings=w.settings, file=file, now=now,
                   tz=w.settings.timezone,
                   actor=(w.actor.code, w.actor.department) if w.actor else ("", ""),
                   staff={c: (i, d, a) for i, c, d, a in staff_rows},
                   staff_login={i: c for i, c, _, _ in staff_rows})
    checker = _CHECKERS[kind](ctx)
    if kind == "policies":
        # a big file resolves its customers from one read of the table, a small one per chunk
        customers = w.session.execute(select(func.count()).select_from(m.Customer)).scalar_one()
        if size // 200 >= customers // 4:
            checker.load_customers()
    with open(path, "rb") as stream:
        lines = _Lines(stream)
        records = _records(lines)
        first = next(records, None)
        while first is not None and not first.problem and not any(f.strip() for f in first.fields):
            first = next(records, None)
        if first is None:
            raise BadFile(file, [Problem(1, "", "the file is empty; its first line must name "
                                                "the columns")])
        if first.problem:
            raise BadFile(file, [Problem(first.line, "", f"the header line is broken: "
                                                         f"{first.problem[1]}")])
        header = first.fields
        ours_at, theirs_of, problems = _header(file, kind, header, mapping or {})
        if problems:
            raise BadFile(file, problems)
        plan = Plan(kind=kind, file=file, header=header, bom=lines.bom, tz=now.tzinfo)
        width = len(header)
        position = {name.strip() or str(k + 1): k for k, name in enumerate(header)}
        wanted = [(k, name) for k, name in enumerate(ours_at) if name is not None]
        chunk: list[tuple[_Record, _Row | None]] = []
        top = 0

        def flush() -> None:
            nonlocal top
            checker.lookup([row for _, row in chunk if row is not None])
            for record, row in chunk:
                if row is None:
                    index, message = record.problem
                    column = theirs_of_pos(index)
                    plan.rejected.append(Rejected(record.line, record.fields,
                                                  [Problem(record.line, column, message)]))
                    continue
                valid = checker.check(row)
                if valid is None:
                    found = sorted(row.problems, key=lambda p: position.get(p.column, width))
                    plan.rejected.append(Rejected(row.line, record.fields, found))
                else:
                    if kind != "payments":
                        if valid[1] is None:
                            plan.unnumbered += 1
                        elif valid[1] > top:
                            top = valid[1]
                    plan._keep(valid)
            chunk.clear()
            if progress is not None:
                progress("checking", lines.bytes, size)

        def theirs_of_pos(index: int) -> str:
            return header[index].strip() or str(index + 1) if index < width else str(index + 1)

        for record in records:
            fields = record.fields
            if record.problem is None and not any(fields):
                continue  # a blank line (an empty cell is "", and so are ...,,,)
            if record.problem is None and len(fields) != width:
                if not any(f.strip() for f in fields):
                    continue  # a blank line
                n = len(fields)
                if n < width:
                    record.problem = (n, f"missing: the line has {n} fields, the header has "
                                         f"{width}")
                else:
                    record.problem = (width, f"unexpected value {fields[width]!r}: the "
                                             f"line has {n} fields, the header has {width}")
            if record.problem is not None:
                if record.fatal:
                    chunk.append((record, None))
                    flush()
                    raise BadFile(file, [p for r in plan.rejected for p in r.problems])
                chunk.append((record, None))
            else:
                values = {}
                for k, name in wanted:
                    cell = fields[k]
                    if cell:
                        values[name] = _clean(cell)
                if not any(values.values()) and not any(f.strip() for f in fields):
                    continue  # a blank line of spaces
                chunk.append((record, _Row(record.line, values, theirs_of)))
            if len(chunk) >= CHUNK:
                flush()
        flush()
        plan.lines_read = lines.number
    _dates.cache_clear()
    _expiry.cache_clear()
    if checker.sequence:
        current = w.session.execute(select(m.Sequence.value)
                                    .where(m.Sequence.name == checker.sequence)).scalar() or 0
        plan.sequence = current
        plan.top = max(current, top)
    return plan


# -- phase (b): write ------------------------------------------------------------------------------

@dataclass
class Written:
    """What a writer wrote: how many rows, the first and last codes (customers, policies) and,
    for payments, on how many policies."""

    count: int = 0
    first: str | None = None
    last: str | None = None
    policies: int = 0


def write(w: Any, plan: Plan, *, slow: bool = False,
          progress: Callable[[str, int, int], None] | None = None) -> Written:
    """Phase (b): write the plan's rows in `w`'s transaction with the bulk writer
    (reports/bulk.py: a few statements per thousands of rows, the same rows, events and
    follow-ups as the services), or — `slow` — through the services themselves, row by row."""
    if slow:
        return write_through_services(w, plan, progress=progress)
    from insurtrack.reports import bulk

    return bulk.write(w, plan, progress=progress)


def write_through_services(w: Any, plan: Plan, *,
                           progress: Callable[[str, int, int], None] | None = None) -> Written:
    """Write the plan's rows through the services (customers.add / rate, policies.open_policy /
    pay / suspend / expire / cancel, policies.pay), one row at a time: the reference the bulk
    writer is tested against."""
    from sqlalchemy import select, update

    from insurtrack.domain import models as m

    iw = _import_work()(session=w.session, actor=w.actor, clock=w.clock, settings=w.settings,
                        source=plan.file)
    writer, row_of = _WRITERS[plan.kind]
    seq = {"customers": "customer", "policies": "policy"}.get(plan.kind)
    if seq is not None:
        exists = w.session.execute(select(m.Sequence.value).where(m.Sequence.name == seq)).first()
        if exists is None:
            w.session.add(m.Sequence(name=seq, value=0))
            w.session.flush()
    done = Written()
    paid: set[str] = set()
    total = plan.count
    for k, t in enumerate(plan.rows(), 1):
        row = row_of(t, plan.tz)
        try:
            if seq is not None:
                w.session.execute(update(m.Sequence).where(m.Sequence.name == seq)
                                  .values(value=row.number - 1))
            code = writer(iw, row)
        except InsurtrackError as exc:
            raise RowFailed(plan.file, row.line, exc) from None
        done.count += 1
        done.first = done.first or code
        done.last = code
        if plan.kind == "payments":
            paid.add(code)
        if k % WRITE_BATCH == 0:
            w.session.flush()
            if progress is not None:
                progress("importing", k, total)
    done.policies = len(paid)
    if seq is not None and plan.count:
        w.session.execute(update(m.Sequence).where(m.Sequence.name == seq)
                          .values(value=plan.highest))
    w.session.flush()
    if progress is not None:
        progress("importing", total, total)
    return done


@functools.cache
def _import_work() -> type:
    from insurtrack.services.base import Work

    @dataclass
    class ImportWork(Work):
        """A unit of work whose events say they come from an import, and from which file."""

        source: str = ""

        def event(self, type: str, subject: str, *, occurred_at: datetime,
                  customer_id: int | None, **payload: Any):
            payload.setdefault("imported", True)
            payload.setdefault("file", self.source)
            return super().event(type, subject, occurred_at=occurred_at,
                                 customer_id=customer_id, **payload)

    return ImportWork


def _write_customer(w: Any, r: CustomerRow) -> str:
    from insurtrack.services import customers

    c = customers.add(w, kind=CustomerKind(r.kind), name=r.name, id_number=r.id_number,
                      phone=r.phone, email=r.email, address=r.address, birth_date=r.birth_date,
                      region=r.region, source=r.source, owner=r.owner, notes=r.notes,
                      at=r.created_at)
    if c.code != r.code:
        raise InsurtrackError(f"customer code {c.code} drawn instead of {r.code}")
    if r.credit_rating or r.risk_level:
        customers.rate(w, c.code, rating=r.credit_rating and CreditRating(r.credit_rating),
                       risk=r.risk_level and RiskLevel(r.risk_level), reason=r.rating_reason,
                       at=r.rated_at)
    return c.code


def _write_policy(w: Any, r: PolicyRow) -> str:
    from insurtrack.services import policies

    p = policies.open_policy(w, customer_id=r.customer_id, owner_id=r.owner_id, application=None,
                             frequency=r.frequency, term_months=r.term_months,
                             effective=r.effective_date, premium=r.premium,
                             rate_loading=r.rate_loading, conditions=r.conditions,
                             lines=list(r.lines), when=r.issued_at)
    if p.code != r.code:
        raise InsurtrackError(f"policy code {p.code} drawn instead of {r.code}")
    if r.paid_installments:
        policies.pay(w, p.code, amount=r.paid_amount, method=PaymentMethod(r.payment_method),
                     at=r.in_force_at)
    if r.status == PolicyStatus.SUSPENDED.value:
        policies.suspend(w, p.code, at=r.ended_at)
    elif r.status == PolicyStatus.EXPIRED.value:
        policies.expire(w, p.code, at=r.ended_at)
    elif r.status == PolicyStatus.CANCELLED.value:
        policies.cancel(w, p.code, reason=r.cancel_reason, at=r.ended_at)
    return p.code


def _write_payment(w: Any, r: PaymentRow) -> str:
    from insurtrack.services import policies

    policies.pay(w, r.policy, amount=r.amount, method=PaymentMethod(r.method),
                 reference=r.reference, at=r.paid_at)
    return r.policy


_WRITERS = {"customers": (_write_customer, CustomerRow.of),
            "policies": (_write_policy, PolicyRow.of),
            "payments": (_write_payment, PaymentRow.of)}


# -- the rejects file ------------------------------------------------------------------------------

def write_rejects(path: str, plan: Plan) -> None:
    """The rejected rows as they were in the file (the header too), each with an added `error`
    column saying why; fixed, the file imports as it is (import ignores `error`)."""
    width = len(plan.header)
    with open(path, "w", encoding="utf-8-sig" if plan.bom else "utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*plan.header, "error"])
        for r in plan.rejected:
            cells = list(r.fields) + [""] * (width - len(r.fields))
            writer.writerow([*cells, r.reason()])


def describe(kind: str) -> str:
    """The documented columns of `kind`, for --help."""
    cols = "; ".join(f"{c.name}{' (required)' if c.required else ''}: {c.help}"
                     for c in COLUMNS[kind])
    return cols
