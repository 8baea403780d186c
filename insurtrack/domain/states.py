"""State machines of the lifecycle (L3–L7, T8): states, steps and the pure `transition` function.

Each table maps a state to the steps allowed from it and the state each step leads to. A step not
in the table is refused with the current state and the allowed steps (errors.IllegalTransition).
"""

from __future__ import annotations

from enum import Enum

from insurtrack.errors import IllegalTransition


class StrEnum(str, Enum):
    """A string enum whose str() is its value (enum.StrEnum exists only from Python 3.11)."""

    def __str__(self) -> str:
        return self.value


class Department(StrEnum):
    SALES = "sales"
    SERVICE = "service"
    UNDERWRITING = "underwriting"
    CLAIMS = "claims"
    MANAGER = "manager"


class CustomerKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class CreditRating(StrEnum):
    """K3: A good, B fair, C poor (controls: guarantee or higher premium), D bad (decline)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Frequency(StrEnum):
    SINGLE = "single"
    ANNUAL = "annual"
    SEMI_ANNUAL = "semi-annual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"

    @property
    def months(self) -> int:
        """Months between installments (0 for a single premium)."""
        return {"single": 0, "annual": 12, "semi-annual": 6, "quarterly": 3, "monthly": 1}[self.value]

    @property
    def per_year(self) -> int:
        return 0 if self is Frequency.SINGLE else 12 // self.months


class ApplicationStatus(StrEnum):
    DRAFT = "draft"                    # plan made (L2), documents being gathered
    INCOMPLETE = "incomplete"          # first review found missing or wrong items (L3)
    REVIEWED = "reviewed"              # first review passed: ready for underwriting
    SUBMITTED = "submitted"            # with underwriting (T3, T4)
    INFO_REQUESTED = "info_requested"  # underwriting waits for the customer (T4 clock paused)
    ACCEPTED = "accepted"              # accepted, possibly with conditions or a rate loading
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    ISSUED = "issued"                  # a policy was issued from it (L5)


class PolicyStatus(StrEnum):
    ISSUED = "issued"          # contract issued, first premium not yet paid (L5)
    IN_FORCE = "in_force"      # first premium paid
    SUSPENDED = "suspended"    # unpaid past the grace period (PRC Insurance Law art. 36)
    EXPIRED = "expired"        # term ended
    CANCELLED = "cancelled"


class InstallmentStatus(StrEnum):
    DUE = "due"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"    # no longer owed: the policy was cancelled


class ClaimStatus(StrEnum):
    REPORTED = "reported"                  # T9: recorded at once; contact clock running
    CONTACTED = "contacted"                # first contact made
    INVESTIGATING = "investigating"        # assessed simple/complex with a plan (T10)
    AWAITING_DOCUMENTS = "awaiting_documents"  # T11: the customer owes documents (clock waits)
    APPROVED = "approved"                  # amount fixed (T12)
    REJECTED = "rejected"                  # reasons given to the customer (T12)
    PAID = "paid"
    CLOSED = "closed"


class Complexity(StrEnum):
    SIMPLE = "simple"
    COMPLEX = "complex"


class FeedbackKind(StrEnum):
    COMPLAINT = "complaint"
    QUESTION = "question"
    REQUEST = "request"


class FeedbackStatus(StrEnum):
    OPEN = "open"
    TRANSFERRED = "transferred"    # handed to a department, tracked until solved (T8)
    RESOLVED = "resolved"
    CLOSED = "closed"              # the customer was told the outcome


class RevisitKind(StrEnum):
    FIRST_CONTACT = "first_contact"  # T5
    QUARTERLY = "quarterly"          # T6
    POST_CLAIM = "post_claim"        # T13
    AD_HOC = "ad_hoc"


class ContactChannel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WECHAT = "wechat"
    VISIT = "visit"
    VIDEO = "video"
    LETTER = "letter"


class ReminderResult(StrEnum):
    REACHED = "reached"
    PROMISED = "promised_to_pay"
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    REFUSED = "refused"
    WRONG_CONTACT = "wrong_contact"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    DIRECT_DEBIT = "direct_debit"
    CARD = "card"
    CASH = "cash"
    CHEQUE = "cheque"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"


A, P, I, C, F = ApplicationStatus, PolicyStatus, InstallmentStatus, ClaimStatus, FeedbackStatus

APPLICATION: dict[StrEnum, dict[str, StrEnum]] = {
    A.DRAFT: {"review_complete": A.REVIEWED, "review_incomplete": A.INCOMPLETE, "withdraw": A.WITHDRAWN},
    A.INCOMPLETE: {"review_complete": A.REVIEWED, "review_incomplete": A.INCOMPLETE, "withdraw": A.WITHDRAWN},
    A.REVIEWED: {"submit": A.SUBMITTED, "review_incomplete": A.INCOMPLETE, "withdraw": A.WITHDRAWN},
    A.SUBMITTED: {"accept": A.ACCEPTED, "decline": A.DECLINED, "request_info": A.INFO_REQUESTED,
                  "withdraw": A.WITHDRAWN},
    A.INFO_REQUESTED: {"info_received": A.SUBMITTED, "decline": A.DECLINED, "withdraw": A.WITHDRAWN},
    A.ACCEPTED: {"issue": A.ISSUED, "withdraw": A.WITHDRAWN},
    A.DECLINED: {},
    A.WITHDRAWN: {},
    A.ISSUED: {},
}

POLICY: dict[StrEnum, dict[str, StrEnum]] = {
    P.ISSUED: {"pay": P.IN_FORCE, "remind": P.ISSUED, "cancel": P.CANCELLED},
    P.IN_FORCE: {"pay": P.IN_FORCE, "remind": P.IN_FORCE, "suspend": P.SUSPENDED, "expire": P.EXPIRED,
                 "renew": P.IN_FORCE, "cancel": P.CANCELLED},
    P.SUSPENDED: {"pay": P.SUSPENDED, "remind": P.SUSPENDED, "reinstate": P.IN_FORCE,
                  "cancel": P.CANCELLED},
    P.EXPIRED: {"renew": P.EXPIRED},
    P.CANCELLED: {},
}

INSTALLMENT: dict[StrEnum, dict[str, StrEnum]] = {
    I.DUE: {"pay_part": I.PARTIALLY_PAID, "pay_full": I.PAID, "cancel": I.CANCELLED},
    I.PARTIALLY_PAID: {"pay_part": I.PARTIALLY_PAID, "pay_full": I.PAID, "cancel": I.CANCELLED},
    I.PAID: {},
    I.CANCELLED: {},
}

CLAIM: dict[StrEnum, dict[str, StrEnum]] = {
    C.REPORTED: {"contact": C.CONTACTED, "withdraw": C.CLOSED},
    C.CONTACTED: {"assess": C.INVESTIGATING, "withdraw": C.CLOSED},
    C.INVESTIGATING: {"assess": C.INVESTIGATING, "request_docs": C.AWAITING_DOCUMENTS,
                      "investigate": C.INVESTIGATING, "record_investigation": C.INVESTIGATING,
                      "approve": C.APPROVED, "reject": C.REJECTED, "withdraw": C.CLOSED},
    C.AWAITING_DOCUMENTS: {"request_docs": C.AWAITING_DOCUMENTS, "docs_received": C.INVESTIGATING,
                           "investigate": C.AWAITING_DOCUMENTS,
                           "record_investigation": C.AWAITING_DOCUMENTS,
                           "reject": C.REJECTED, "withdraw": C.CLOSED},
    C.APPROVED: {"pay": C.PAID},
    C.REJECTED: {"close": C.CLOSED},
    C.PAID: {"close": C.CLOSED},
    C.CLOSED: {"reopen": C.INVESTIGATING},
}

FEEDBACK: dict[StrEnum, dict[str, StrEnum]] = {
    F.OPEN: {"transfer": F.TRANSFERRED, "resolve": F.RESOLVED},
    F.TRANSFERRED: {"transfer": F.TRANSFERRED, "resolve": F.RESOLVED},
    F.RESOLVED: {"inform": F.CLOSED, "reopen": F.OPEN},
    F.CLOSED: {"reopen": F.OPEN},
}

MACHINES: dict[str, dict[StrEnum, dict[str, StrEnum]]] = {
    "application": APPLICATION,
    "policy": POLICY,
    "installment": INSTALLMENT,
    "claim": CLAIM,
    "feedback": FEEDBACK,
}


def allowed(kind: str, state: str) -> list[str]:
    """The steps allowed from `state`, by name."""
    table = MACHINES[kind]
    return sorted(table[type(next(iter(table)))(state)])


def transition(kind: str, state: str, action: str, code: str = "") -> StrEnum:
    """The state `action` leads to from `state`, or IllegalTransition naming the allowed steps."""
    table = MACHINES[kind]
    enum = type(next(iter(table)))
    current = enum(state)
    steps = table[current]
    if action not in steps:
        raise IllegalTransition(kind, code, current.value, action, sorted(steps))
    return steps[action]
