"""Deliver one message through one Apprise URL (mailto/mailtos SMTP, json:// webhooks, WeCom,
DingTalk, Feishu, Slack, Teams, … — whatever Apprise supports).

`check_url` validates a URL, `redact` makes it safe to show, `send` delivers once and returns a
one-line reason instead of raising when delivery fails. Apprise is imported inside the functions so
that the CLI does not pay for it (≈190 plugins) just to print --help.

How Apprise is driven here (checked against its source, 1.x and 2.x):
- A plain `Apprise(asset=AppriseAsset(...))`: the library never reads ~/.apprise* config or plugin
  directories by itself (only the `apprise` command-line tool does); `plugin_paths` and
  `storage_path` are left unset, so no custom plugins are scanned and persistent storage stays
  in memory.
- No retries: every service's `retry` (Apprise 2.x, also settable by `?retry=` in the URL) is
  forced to 0; the caller's outbox retries on its next run.
- Time limit: the service's socket connect/read timeouts are capped at `timeout`, and on
  Apprise 2.x the asset's `service_timeout` and `notify(timeout=)` bound the whole call too.
- Reasons: Apprise reports failures only through its `apprise` logger (a warning such as
  'Connection error while submitting email to "smtp.example.com"', with the cause — "[Errno 111]
  Connection refused" — at DEBUG level). `apprise.LogCapture(level=DEBUG)` would lower the shared
  logger's level while leaving propagation on, pouring Apprise's debug output into the
  application's own log handlers, so an equivalent private handler is attached instead, with
  propagation off for the duration of the call. Captured text is scrubbed of the URL's secrets.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["check_url", "redact", "send"]

_LOGGER_NAME = "apprise"  # apprise.logger.LOGGER_NAME, without importing apprise
_MAX_REASON = 300

# One capture at a time: it changes the process-wide `apprise` logger while it runs.
_CAPTURE_LOCK = threading.Lock()
_ACTIVE: contextvars.ContextVar[Any] = contextvars.ContextVar("insurtrack_sla_send_capture",
                                                              default=None)

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]{0,31})://")
_ERRNO_RE = re.compile(r"\[Errno -?\d+\][^'\")\]]*")
_EXCEPTION_RE = re.compile(r"^(?:Socket )?Exception:\s*(.+)$", re.S)
_COULD_NOT_LOAD = re.compile(r"^Could not load .*URL\b")
_URL_IN_TEXT = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]{0,31})://\S*")
# Query keys whose values are credentials in the Apprise URLs we know of.
_SECRET_KEYS = re.compile(r"(pass|secret|token|key|auth|sign|sig|cred|bearer|hook|access)", re.I)


# ------------------------------------------------------------------------------------------ public

def check_url(url: str) -> str | None:
    """None if Apprise accepts the URL (a known scheme, parsable), else a one-line reason naming
    the URL's scheme (never echoes passwords)."""
    _, reason = _load(url)
    return reason


def redact(url: str) -> str:
    """The URL as safe to show in messages/logs: scheme://host[:port]/path without any
    user:password or query string (e.g. 'mailto://smtp.example.com/ops@example.com',
    'json://127.0.0.1:8080/hook'). Tokens Apprise knows to be secret (a WeCom key, a Slack
    webhook token …) come out masked the Apprise way ('wecombot://A...8')."""
    if not isinstance(url, str) or not url.strip():
        return "(no URL)"
    url = url.strip()
    try:
        service, _ = _load(url)
        if service is not None:
            shown = _strip_to_location(service.url(privacy=True))
            if shown:
                return shown
    except Exception:  # noqa: BLE001 - fall back to our own parse below
        pass
    return _fallback_redact(url)


def send(url: str, *, title: str, body: str, timeout: float = 15.0,
         headers: dict[str, str] | None = None) -> str | None:
    """Deliver through one URL. None on success; on failure a one-line reason (from Apprise's log
    capture, e.g. connection refused / HTTP 500), never raising for a delivery failure.

    One attempt only (no retries), bounded by roughly `timeout` seconds. The body is sent as
    plain text. `headers` are added to the message on services that carry headers (Apprise's
    email, json://, xml:// and form:// services keep them in their `headers` dict, the one their
    `+Name=value` URL arguments fill); other services have nowhere to put them."""
    if not timeout or timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    timeout = float(timeout)
    try:
        import apprise
    except ImportError as e:  # pragma: no cover - apprise is a dependency
        return f"Apprise is not installed ({e})"

    service, reason = _load(url, timeout=timeout)
    if service is None:
        return reason
    secrets = _secrets(url, service)

    # Cap the plugin's own socket timeouts, so the worker itself gives up (Apprise 1.x has no
    # other limit; on 2.x an abandoned worker would otherwise keep a thread busy).
    for attr in ("socket_connect_timeout", "socket_read_timeout"):
        current = getattr(service, attr, None)
        if isinstance(current, (int, float)) and not isinstance(current, bool):
            setattr(service, attr, min(float(current), timeout) if current > 0 else timeout)
    if hasattr(service, "retry"):
        service.retry = 0  # ?retry=N in the URL or an asset default: one attempt only
    if headers and isinstance(getattr(service, "headers", None), dict):
        service.headers.update(headers)

    kwargs: dict[str, Any] = {"body": body, "title": title,
                              "body_format": apprise.NotifyFormat.TEXT}
    if _accepts(apprise.Apprise.notify, "timeout"):
        kwargs["timeout"] = timeout

    with _captured() as records:
        try:
            apobj = apprise.Apprise(asset=service.asset)
            apobj.add(service)
            result = apobj.notify(**kwargs)
            ok = bool(result)  # bool on 1.x; an AppriseResult, true only on SUCCESS, on 2.x
            if callable(getattr(result, "close", None)):
                result.close()  # 2.x: release its captured logs
        except Exception as e:  # noqa: BLE001 - a plugin bug is a failed delivery, not a crash
            ok = False
            records.append((logging.ERROR, f"{type(e).__name__}: {e}"))
    if ok:
        return None
    return _scrub(_reason_from(records) or "delivery failed (Apprise gave no detail)", secrets)


# ---------------------------------------------------------------------------------------- internal

def _accepts(func: Any, name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False


def _asset(timeout: float | None = None) -> Any:
    """A plain asset: no plugin paths, no storage path (memory only), sequential dispatch, and on
    Apprise 2.x a per-service time limit."""
    import apprise

    kwargs: dict[str, Any] = {"async_mode": False}
    if timeout is not None and _accepts(apprise.AppriseAsset.__init__, "service_timeout"):
        kwargs["service_timeout"] = timeout
    try:
        return apprise.AppriseAsset(**kwargs)
    except Exception:  # noqa: BLE001 - an Apprise that refuses an option: use its defaults
        return apprise.AppriseAsset()


def _scheme(url: str) -> str | None:
    m = _SCHEME_RE.match(url)
    return m.group(1).lower() if m else None


def _known_schemes() -> Any:
    """The set-like registry of schemes Apprise has plugins for (None if it cannot be read)."""
    try:
        from apprise.manager_plugins import NotificationManager
    except ImportError:  # pragma: no cover - Apprise < 1.7
        return None
    return NotificationManager()


def _load(url: str, timeout: float | None = None) -> tuple[Any, str | None]:
    """(the instantiated Apprise service, None) or (None, one-line reason)."""
    if not isinstance(url, str) or not url.strip():
        return None, "empty notification URL"
    url = url.strip()
    if any(c.isspace() for c in url):
        return None, "a notification URL must be one URL without spaces"
    scheme = _scheme(url)
    if scheme is None:
        return None, "not a notification URL (expected scheme://…)"
    try:
        import apprise
    except ImportError as e:  # pragma: no cover
        return None, f"{scheme}:// cannot be checked: Apprise is not installed ({e})"

    with _captured() as records:
        known = _known_schemes()
        if known is not None and scheme not in known:
            return None, f"unknown notification scheme '{scheme}://' (not an Apprise service)"
        try:
            service = apprise.Apprise.instantiate(url, asset=_asset(timeout),
                                                  suppress_exceptions=True)
        except Exception as e:  # noqa: BLE001
            service = None
            records.append((logging.ERROR, f"{type(e).__name__}: {e}"))
    if service is not None:
        return service, None
    detail = _reason_from(records, problems_only=True)
    reason = f"{scheme}:// URL rejected by Apprise" + (f": {detail}" if detail else "")
    return None, _scrub(reason, _raw_secrets(url))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.items: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Apprise 2.x runs a service in a worker thread with a copy of the caller's context, and
        # stops waiting for it at the deadline while it may still run: a record carrying another
        # capture comes from such a leftover of an earlier send() and is not about this one.
        owner = _ACTIVE.get()
        if owner is not None and owner is not self:
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001
            message = str(record.msg)
        self.items.append((record.levelno, message))


@contextmanager
def _captured() -> Iterator[list[tuple[int, str]]]:
    """Collect (level, message) of everything the `apprise` logger says at DEBUG and above,
    without passing it on to the application's handlers meanwhile."""
    log = logging.getLogger(_LOGGER_NAME)
    handler = _Records()
    with _CAPTURE_LOCK:
        level, propagate = log.level, log.propagate
        token = _ACTIVE.set(handler)
        log.addHandler(handler)
        log.setLevel(logging.DEBUG)
        log.propagate = False
        try:
            yield handler.items
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
            log.propagate = propagate
            _ACTIVE.reset(token)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _detail(message: str) -> str | None:
    """The useful part of Apprise's 'Socket Exception: …' debug line."""
    m = _EXCEPTION_RE.match(message.strip())
    if not m:
        return None
    text = m.group(1)
    errno = _ERRNO_RE.search(text)
    if errno:
        return _one_line(errno.group(0)).rstrip(" .,:;")
    if "timed out" in text.lower():
        return "timed out"
    text = _one_line(text)
    return text[:120] + ("…" if len(text) > 120 else "")


def _reason_from(records: list[tuple[int, str]], problems_only: bool = False) -> str | None:
    """One line from captured Apprise logs: its warnings/errors (in order, without repeats), then
    the low-level cause if a debug line carries one ('[Errno 111] Connection refused')."""
    problems: list[str] = []
    for level, message in records:
        if level >= logging.WARNING:
            line = _one_line(message).rstrip(" :")
            if line and line not in problems:
                problems.append(line)
    detail = None
    if not problems_only:
        for _, message in records:
            detail = _detail(message)
            if detail:
                break
    if len(problems) > 1:  # "Could not load X URL: …" only repeats that the URL was refused
        problems = [p for p in problems if not _COULD_NOT_LOAD.match(p)] or problems
    # Apprise masks URLs in its messages only partly ('user:s...t@'): show scheme://… instead.
    parts = "; ".join(_URL_IN_TEXT.sub(r"\1://…", p) for p in problems)
    if detail and detail not in parts:
        parts = f"{parts.rstrip('.')}: {detail}" if parts else detail
    if not parts:
        return None
    return parts if len(parts) <= _MAX_REASON else parts[: _MAX_REASON - 1] + "…"


def _raw_secrets(url: str) -> set[str]:
    """Credentials visible in the URL text itself: the password and secret-looking query values."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return found
    if password:
        found.update({password, unquote(password)})
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if value and _SECRET_KEYS.search(key):
            found.add(value)
    return {s for s in found if len(s) >= 3}


def _secrets(url: str, service: Any) -> set[str]:
    """Everything in the URL that Apprise masks in its privacy form (passwords, tokens, keys),
    plus _raw_secrets."""
    found = _raw_secrets(url)
    try:
        public = unquote(service.url(privacy=True))
        private = service.url(privacy=False)
    except Exception:  # noqa: BLE001
        return found
    for text in (url, private):
        try:
            parts = urlsplit(text)
            host = re.sub(r":\d*$", "", parts.netloc.rpartition("@")[2])  # case kept
            candidates = [parts.password, host,
                          *parts.path.split("/"), *(v for _, v in parse_qsl(parts.query))]
        except ValueError:
            continue
        for c in candidates:
            if c:
                c = unquote(c)
                if len(c) >= 4 and c not in public:
                    found.add(c)
    return found


def _scrub(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


def _strip_to_location(private_url: str) -> str | None:
    """scheme://host[:port]/path of an Apprise privacy URL (no user info, no query)."""
    try:
        parts = urlsplit(private_url)
    except ValueError:
        return None
    if not parts.scheme:
        return None
    # The host as written (urlsplit().hostname lowercases it, and Apprise masks some tokens in
    # the host, e.g. 'a...8'), without any user info; the port stays.
    host = parts.netloc.rpartition("@")[2]
    location = f"{parts.scheme}://{host}"
    path = unquote(parts.path).rstrip("/")
    if path:
        location += path if path.startswith("/") else "/" + path
    return location


def _fallback_redact(url: str) -> str:
    """For a URL Apprise cannot load: scheme://host[:port] and no more (a host that does not look
    like a server name may be a token, so it is masked)."""
    scheme = _scheme(url)
    if scheme is None:
        return "(not a URL)"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            port = parts.port
        except ValueError:
            port = None
    except ValueError:
        return f"{scheme}://…"
    if host and not ("." in host or ":" in host or host == "localhost"):
        host = f"{host[0]}...{host[-1]}" if len(host) > 2 else "…"
    shown = f"{scheme}://{host}" + (f":{port}" if port else "")
    if parts.path.strip("/"):
        shown += "/…"
    return shown
