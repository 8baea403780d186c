"""`insurtrack customer`: profiles (T1), needs conversations (L1), credit and risk ratings (K3)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import (
    AtOpt,
    FormatOpt,
    LimitOpt,
    OutputFormat,
    RevealOpt,
    day,
    instant,
    text_value,
)
from insurtrack.domain.states import CreditRating, CustomerKind, RiskLevel

app = typer.Typer(help="Customers: profiles, needs conversations (L1), credit and risk ratings (K3).",
                  no_args_is_help=True)

Code = Annotated[str, typer.Argument(help="Customer code, e.g. C-000001.")]
IdNumber = Annotated[Optional[str], typer.Option("--id-number", help="ID card, passport or company registration number.")]
Phone = Annotated[Optional[str], typer.Option("--phone", help="Phone number.")]
Email = Annotated[Optional[str], typer.Option("--email", help="Email address.")]
Address = Annotated[Optional[str], typer.Option("--address", help="Postal address.")]
Born = Annotated[Optional[str], typer.Option("--born", "--founded", help="Birth date of a person or founding date of a company (YYYY-MM-DD).")]
Region = Annotated[Optional[str], typer.Option("--region", help="Region or city.")]
Source = Annotated[Optional[str], typer.Option("--source", help="Where the customer came from (referral, walk-in, web…).")]
Owner = Annotated[Optional[str], typer.Option("--owner", help="Owning sales person (login). Default: you, if you are in sales.")]
Notes = Annotated[Optional[str], typer.Option("--notes", help="Free-text notes.")]


# The most each free-text field holds (region and source are short columns of the store).
MAX_LEN = {"address": 2000, "region": 100, "source": 100, "notes": 2000}


def _texts(**fields: Optional[str]) -> dict[str, Optional[str]]:
    return {k: text_value("--" + k.replace("_", "-"), v, max_len=MAX_LEN[k])
            for k, v in fields.items()}


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Full name of the person or company.")],
    company: Annotated[bool, typer.Option("--company", help="The customer is a company.")] = False,
    id_number: IdNumber = None, phone: Phone = None, email: Email = None, address: Address = None,
    born: Born = None, region: Region = None, source: Source = None, owner: Owner = None,
    notes: Notes = None, at: AtOpt = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Open a customer profile after the first conversation (T1)."""
    from insurtrack.services import customers as svc

    a = app_context(ctx)
    tz, now = a.settings.timezone, a.clock.now()
    when = instant("--at", at, tz=tz, now=now)
    birth = day("--born", born)
    kind = CustomerKind.COMPANY if company else CustomerKind.PERSON
    clean = _texts(address=address, region=region, source=source, notes=notes)
    with a.work() as w:
        c = svc.add(w, kind=kind, name=text_value("NAME", name, required=True, max_len=200),
                    id_number=id_number, phone=phone, email=email, birth_date=birth, owner=owner,
                    at=when, **clean)
        record, sections = svc.show(w, c.code)
    a.output(fmt).record(record, title=f"Customer {c.code}")


@app.command("edit")
def edit(
    ctx: typer.Context, code: Code,
    name: Annotated[Optional[str], typer.Option("--name", help="New name.")] = None,
    id_number: IdNumber = None, phone: Phone = None, email: Email = None, address: Address = None,
    born: Born = None, region: Region = None, source: Source = None, owner: Owner = None,
    notes: Notes = None, fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Change a customer's details; the timeline keeps the old and new values."""
    from insurtrack.services import customers as svc

    a = app_context(ctx)
    changes = {k: v for k, v in {
        "name": text_value("--name", name, required=name is not None, max_len=200),
        "id_number": id_number, "phone": phone, "email": email,
        "birth_date": day("--born", born),
        **_texts(address=address, region=region, source=source, notes=notes),
    }.items() if v is not None}
    with a.work() as w:
        c = svc.edit(w, code, owner=owner, **changes)
        record, _ = svc.show(w, c.code)
    a.output(fmt).record(record, title=f"Customer {c.code}")


@app.command("show")
def show(ctx: typer.Context, code: Code, fmt: FormatOpt = OutputFormat.TABLE,
         reveal: RevealOpt = False) -> None:
    """A customer's profile with a timeline of everything that happened to them (ID and phone
    numbers masked unless --reveal)."""
    from insurtrack.services import profile

    a = app_context(ctx)
    if reveal:  # recorded first, in the same transaction: no reveal goes unrecorded
        from insurtrack.services import customers as svc

        with a.work() as w:
            svc.revealed(w, command="customer show", codes=[svc.get(w, code).code])
            record, sections = svc.show(w, code, reveal=True)
    else:  # without the ORM (services/profile.py)
        with a.peek() as r:
            record, sections = profile.customer(r, code)
    a.output(fmt).record(record, sections, title=f"Customer {record['code']}")


def _list(ctx: typer.Context, text, owner, risk, credit, region, company, person, limit, fmt,
          reveal: bool = False, command: str = "customer list") -> None:
    from insurtrack.services import customers as svc

    a = app_context(ctx)
    kind = CustomerKind.COMPANY if company else CustomerKind.PERSON if person else None
    with (a.work() if reveal else a.reading()) as w:
        rows = svc.listing(w, text=text, owner=owner, risk=risk, credit=credit, region=region,
                           kind=kind, limit=limit, reveal=reveal)
        if reveal:  # in the same transaction: shown only once recorded
            svc.revealed(w, command=command, codes=[r["code"] for r in rows])
    a.output(fmt).rows(rows, svc.LIST_COLUMNS, title="Customers")


OwnerFilter = Annotated[Optional[str], typer.Option("--owner", help="Only this sales person's customers.")]
RiskFilter = Annotated[Optional[RiskLevel], typer.Option("--risk", help="Only this risk level.", case_sensitive=False)]
CreditFilter = Annotated[Optional[CreditRating], typer.Option("--credit", help="Only this credit rating.", case_sensitive=False)]
RegionFilter = Annotated[Optional[str], typer.Option("--region", help="Only this region.")]
CompanyFilter = Annotated[bool, typer.Option("--company", help="Only companies.")]
PersonFilter = Annotated[bool, typer.Option("--person", help="Only persons.")]


@app.command("list")
def list_(
    ctx: typer.Context,
    search: Annotated[Optional[str], typer.Option("--search", "-s", help="Name, code, phone or ID number.")] = None,
    owner: OwnerFilter = None, risk: RiskFilter = None, credit: CreditFilter = None,
    region: RegionFilter = None, company: CompanyFilter = False, person: PersonFilter = False,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE, reveal: RevealOpt = False,
) -> None:
    """List customers, filtered by owner, risk, credit rating, region or kind (phone numbers
    masked unless --reveal)."""
    _list(ctx, search, owner, risk, credit, region, company, person, limit, fmt, reveal)


@app.command("search")
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="Part of a name, a code, a phone or an ID number.")],
    owner: OwnerFilter = None, risk: RiskFilter = None, credit: CreditFilter = None,
    region: RegionFilter = None, company: CompanyFilter = False, person: PersonFilter = False,
    limit: LimitOpt = 100, fmt: FormatOpt = OutputFormat.TABLE, reveal: RevealOpt = False,
) -> None:
    """Find customers by name, code, phone or ID number (phone numbers masked unless --reveal)."""
    _list(ctx, text_value("TEXT", text, required=True, max_len=200), owner, risk, credit, region,
          company, person, limit, fmt, reveal, "customer search")


@app.command("needs")
def needs(
    ctx: typer.Context, code: Code,
    needs: Annotated[str, typer.Option("--needs", help="What the customer needs (L1).")],
    risk_situation: Annotated[Optional[str], typer.Option("--risk-situation", help="Their risk situation: health, assets, family, business.")] = None,
    recommend: Annotated[Optional[str], typer.Option("--recommend", help="Products recommended, with terms, coverage and rates.")] = None,
    notes: Notes = None, at: AtOpt = None,
) -> None:
    """Record a needs conversation: needs, risk situation, products recommended (L1)."""
    from insurtrack.services import customers as svc

    a = app_context(ctx)
    when = instant("--at", at, tz=a.settings.timezone, now=a.clock.now())
    with a.work() as w:
        svc.needs(w, code, needs=text_value("--needs", needs, required=True),
                  risk_situation=text_value("--risk-situation", risk_situation),
                  recommended=text_value("--recommend", recommend),
                  notes=text_value("--notes", notes), at=when)
    a.output().message(f"needs conversation recorded for {code.upper()}")


@app.command("rate")
def rate(
    ctx: typer.Context, code: Code,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on record).")],
    credit: Annotated[Optional[CreditRating], typer.Option("--credit", help="Credit rating: A good, B fair, C poor (controls apply), D bad.", case_sensitive=False)] = None,
    risk: Annotated[Optional[RiskLevel], typer.Option("--risk", help="Risk level.", case_sensitive=False)] = None,
    at: AtOpt = None,
) -> None:
    """Set a customer's credit rating and/or risk level, with the reason (K2, K3)."""
    from insurtrack.services import customers as svc

    a = app_context(ctx)
    when = instant("--at", at, tz=a.settings.timezone, now=a.clock.now())
    with a.work() as w:
        c = svc.rate(w, code, rating=credit, risk=risk,
                     reason=text_value("--reason", reason, required=True), at=when)
    a.output().message(f"{c.code}: credit {c.credit_rating or '-'}, risk {c.risk_level or '-'}")
