"""Underwriting (L4, T4): the queue of filed applications and the decisions on them — accept
(with conditions or a rate loading), decline with reason and advice, or ask the customer for
more (the T4 clock waits until it arrives)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from insurtrack.domain import models as m
from insurtrack.domain.states import ApplicationStatus as S
from insurtrack.errors import BadInput, NotPermitted
from insurtrack.services.applications import event, get, step_time, totals
from insurtrack.services.base import Work

QUEUE_COLUMNS = ["code", "customer", "credit", "risk", "status", "submitted_at", "waiting_days",
                 "sum_insured", "premium", "owed"]


def queue(w: Work) -> list[dict[str, Any]]:
    """T4: applications with underwriting (submitted, or waiting for the customer), oldest first;
    waiting_days counts calendar days since submission; K3 credit and risk shown."""
    t = totals()
    q = (select(m.Application, m.Customer, t.c.premium, t.c.sum_insured)
         .join(m.Customer, m.Customer.id == m.Application.customer_id)
         .outerjoin(t, t.c.application_id == m.Application.id)
         .where(m.Application.status.in_([S.SUBMITTED.value, S.INFO_REQUESTED.value]))
         .order_by(m.Application.submitted_at, m.Application.code))
    now = w.now()
    return [{"code": a.code, "customer": c.code, "credit": c.credit_rating, "risk": c.risk_level,
             "status": a.status, "submitted_at": a.submitted_at,
             "waiting_days": (now - a.submitted_at).days if a.submitted_at else None,
             "sum_insured": sum_insured, "premium": premium,
             "owed": a.info_requested if a.status == S.INFO_REQUESTED else None}
            for a, c, premium, sum_insured in w.session.execute(q).all()]


def submitted_by(w: Work, app: m.Application) -> m.Staff | None:
    """Who filed the application with underwriting (its latest `application.submitted`)."""
    actor_id = w.session.execute(
        select(m.Event.actor_id).where(m.Event.subject == app.code,
                                       m.Event.type == "application.submitted")
        .order_by(m.Event.occurred_at.desc(), m.Event.id.desc()).limit(1)).scalar()
    return w.session.get(m.Staff, actor_id) if actor_id is not None else None


def _decide(w: Work, app: m.Application, action: str, decision: str, at: datetime | None) -> datetime:
    when = step_time(w, app, at)
    w.step("application", app, action)
    filer = submitted_by(w, app)
    if filer is not None and filer.id == w.actor.id:  # D2, K4: a second person decides
        raise NotPermitted(f"cannot {action} application {app.code}: {filer.code} submitted it; "
                           "an underwriter cannot decide on an application they submitted")
    app.decision, app.decided_at, app.decided_by_id = decision, when, w.actor.id
    return when


def accept(w: Work, code: str, *, conditions: str | None = None, loading: Decimal | None = None,
           at: datetime | None = None) -> m.Application:
    """L4: accept, possibly with conditions and/or a rate loading (percent of the premium)."""
    w.require("underwrite.accept")
    if loading is not None and loading <= 0:
        raise BadInput("--loading", str(loading), "must be more than zero (leave it out for no loading)")
    app = get(w, code)
    when = _decide(w, app, "accept", "accept", at)
    app.conditions, app.rate_loading = conditions, loading
    event(w, "accepted", app, when, conditions=conditions, rate_loading=loading)
    return app


def decline(w: Work, code: str, *, reason: str, advice: str, at: datetime | None = None) -> m.Application:
    """L4: decline, with the reason and advice for the customer."""
    w.require("underwrite.decline")
    app = get(w, code)
    when = _decide(w, app, "decline", "decline", at)
    app.decline_reason, app.decline_advice = reason, advice
    event(w, "declined", app, when, reason=reason, advice=advice)
    return app


def request_info(w: Work, code: str, *, what: str, at: datetime | None = None) -> m.Application:
    """L4, T4: ask the customer for documents or an investigation; the decision clock waits."""
    w.require("underwrite.request_info")
    app = get(w, code)
    when = step_time(w, app, at)
    w.step("application", app, "request_info")
    app.info_requested = what
    event(w, "info_requested", app, when, what=what)
    return app


def info_received(w: Work, code: str, *, note: str | None = None,
                  at: datetime | None = None) -> m.Application:
    """T4: what the customer owed arrived; the application is back with underwriting."""
    w.require("underwrite.info_received")
    app = get(w, code)
    when = step_time(w, app, at)
    w.step("application", app, "info_received")
    what, app.info_requested = app.info_requested, None
    event(w, "info_received", app, when, what=what, note=note)
    return app
