"""`insurtrack staff`: who works here (sales, service, underwriting, claims, manager)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from insurtrack.cli.context import app_context
from insurtrack.cli.options import FormatOpt, OutputFormat, text_value
from insurtrack.domain.states import Department

app = typer.Typer(help="Staff and their departments; every change records who made it.",
                  no_args_is_help=True)

COLUMNS = ["login", "name", "department", "phone", "email", "active"]


@app.command("add")
def add(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Login code the person acts under (e.g. wang.li).")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    dept: Annotated[Department, typer.Option("--dept", help="Department.", case_sensitive=False)],
    phone: Annotated[Optional[str], typer.Option("--phone", help="Phone number.")] = None,
    email: Annotated[Optional[str], typer.Option("--email", help="Email address (notifications).")] = None,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """Register a staff member. On a new store the first one may register themselves."""
    from insurtrack.services import staff as svc

    a = app_context(ctx)
    full_name = text_value("--name", name, required=True, max_len=200)
    with a.work(allow_bootstrap=True) as w:
        person = svc.add(w, code=login.strip(), name=full_name, department=dept, phone=phone,
                         email=email)
        row = svc.row_of(person)
    a.output(fmt).record(row, title=f"Staff {login}")


@app.command("list")
def list_(
    ctx: typer.Context,
    dept: Annotated[Optional[Department], typer.Option("--dept", help="Only this department.",
                                                       case_sensitive=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include deactivated staff.")] = False,
    fmt: FormatOpt = OutputFormat.TABLE,
) -> None:
    """List staff by department."""
    from insurtrack.services import staff as svc

    a = app_context(ctx)
    with a.reading() as w:
        rows = svc.listing(w, department=dept, include_inactive=all_)
    a.output(fmt).rows(rows, COLUMNS, title="Staff")


@app.command("deactivate")
def deactivate(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Login code.")],
) -> None:
    """Stop someone acting (they left); their past records keep their name."""
    from insurtrack.services import staff as svc

    a = app_context(ctx)
    with a.work() as w:
        svc.set_active(w, code=login, active=False)
    a.output().message(f"deactivated {login}")


@app.command("activate")
def activate(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="Login code.")],
) -> None:
    """Let a deactivated staff member act again."""
    from insurtrack.services import staff as svc

    a = app_context(ctx)
    with a.work() as w:
        svc.set_active(w, code=login, active=True)
    a.output().message(f"activated {login}")
