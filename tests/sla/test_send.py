"""insurtrack.sla.send against real servers: an SMTP server (aiosmtpd), an HTTP receiver, and a
black hole that accepts connections and never answers."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from insurtrack.sla.send import check_url, redact, send
from tests.sla.servers import (  # noqa: F401 - pytest fixtures, used by name
    black_hole,
    http_receiver,
    smtp_server,
)

TITLE = "SLA 超时: APP-0001 核保"
BODY = "客户 李娜 的投保申请已超过 2 个工作日未核保。\nCustomer Li Na: underwriting overdue."


# ------------------------------------------------------------------------------------ delivery

def test_mailto_delivers_subject_body_and_recipient(smtp_server):
    url = smtp_server.url(to="ops@example.com")
    assert check_url(url) is None

    assert send(url, title=TITLE, body=BODY) is None

    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ("ops@example.com",)
    assert mail.mail_from == "insurtrack@example.com"
    assert mail.subject == TITLE
    assert mail.content_type == "text/plain"
    assert mail.body.strip() == BODY


def test_json_webhook_delivers_title_and_body(http_receiver):
    url = http_receiver.url("/hook")
    assert url == f"json://127.0.0.1:{http_receiver.port}/hook"
    assert check_url(url) is None

    assert send(url, title=TITLE, body=BODY) is None

    [post] = http_receiver.wait_for(1)
    assert post.path == "/hook"
    assert post.headers["Content-Type"].startswith("application/json")
    assert post.json["title"] == TITLE
    assert post.json["message"] == BODY


# ------------------------------------------------------------------------------------ failures

def test_smtp_down_gives_a_reason_then_recovers_on_the_same_port(smtp_server):
    url = smtp_server.url()
    smtp_server.stop()

    reason = send(url, title=TITLE, body=BODY)

    assert reason and "\n" not in reason
    assert "refused" in reason.lower()
    assert smtp_server.messages == []

    smtp_server.start()
    assert send(url, title=TITLE, body=BODY) is None
    assert len(smtp_server.wait_for(1)) == 1


def test_http_500_gives_a_reason_and_is_tried_once(http_receiver):
    http_receiver.failing = True
    url = http_receiver.url("/hook") + "?retry=3"  # a retry asked for in the URL is not honoured

    reason = send(url, title=TITLE, body=BODY)

    assert reason and "\n" not in reason
    assert "500" in reason
    time.sleep(0.1)
    assert len(http_receiver.posts) == 1

    http_receiver.failing = False
    assert send(url, title=TITLE, body=BODY) is None
    assert len(http_receiver.wait_for(2)) == 2


def test_http_receiver_stopped_gives_connection_refused(http_receiver):
    url = http_receiver.url()
    http_receiver.stop()

    reason = send(url, title=TITLE, body=BODY)

    assert reason and "refused" in reason.lower()
    http_receiver.start()
    assert send(url, title=TITLE, body=BODY) is None
    assert len(http_receiver.wait_for(1)) == 1


@pytest.mark.parametrize("kind", ["smtp", "json"])
def test_a_channel_that_hangs_returns_within_the_timeout(black_hole, kind):
    url = black_hole.smtp_url() if kind == "smtp" else black_hole.json_url()
    started = time.monotonic()

    reason = send(url, title=TITLE, body=BODY, timeout=0.5)

    elapsed = time.monotonic() - started
    assert reason and "\n" not in reason
    assert elapsed < 0.5 + 1.0, f"took {elapsed:.2f}s"


def test_send_with_a_bad_url_returns_the_reason_instead_of_raising():
    assert "nosuchscheme" in send("nosuchscheme://x", title="t", body="b")
    assert "mailto" in send("mailto://", title="t", body="b")


def test_failure_reasons_never_show_the_password(smtp_server):
    port = smtp_server.port
    smtp_server.stop()
    url = (f"mailto://bot:s3cretPw@127.0.0.1:{port}"
           "?smtp=127.0.0.1&mode=insecure&from=bot@example.com&to=ops@example.com")

    reason = send(url, title=TITLE, body=BODY)

    assert reason and "s3cretPw" not in reason
    assert "s3cretPw" not in check_url("mailtos://user:s3cretPw@host")
    assert "s3cretPw" not in send("nosuchscheme://user:s3cretPw@x", title="t", body="b")


# ---------------------------------------------------------------------------------- check_url

@pytest.mark.parametrize("url", [
    "mailtos://user:secret@smtp.example.com?from=bot@example.com&to=ops@example.com",
    "mailto://smtp.example.com:2525?mode=insecure&from=bot@example.com&to=ops@example.com",
    "json://127.0.0.1:8080/hook",
    "wecombot://ABCdefgh12345678",
    "dingtalk://mytoken1234",
    "feishu://tok123456",
    "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
])
def test_check_url_accepts_apprise_urls(url):
    assert check_url(url) is None


@pytest.mark.parametrize("url, scheme", [
    ("nosuchscheme://x", "nosuchscheme"),
    ("mailto://", "mailto"),
    ("mailto://%%%garbage", "mailto"),
    ("mailtos://user:secret@@@", "mailtos"),
    ("json://", "json"),
])
def test_check_url_rejects_with_a_reason_naming_the_scheme(url, scheme):
    reason = check_url(url)
    assert reason and "\n" not in reason
    assert f"{scheme}://" in reason
    assert "secret" not in reason


@pytest.mark.parametrize("url", ["", "   ", "not a url", "smtp.example.com"])
def test_check_url_rejects_what_is_not_a_url(url):
    assert check_url(url)


# ------------------------------------------------------------------------------------- redact

def test_redact_hides_user_and_password():
    shown = redact("mailtos://user:secret@smtp.example.com?from=bot@example.com&to=ops@example.com")
    assert "secret" not in shown and "user" not in shown
    assert shown.startswith("mailtos://smtp.example.com")


def test_redact_keeps_host_port_and_path_of_a_webhook():
    assert redact("json://127.0.0.1:8080/hook") == "json://127.0.0.1:8080/hook"
    shown = redact("json://u:pw99@127.0.0.1:8080/hook?token=abc123")
    assert shown == "json://127.0.0.1:8080/hook"


@pytest.mark.parametrize("url, secret", [
    ("wecombot://ABCdefgh12345678", "ABCdefgh12345678"),
    ("dingtalk://secretkey@mytoken1234", "mytoken1234"),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general", "TIiajkdnlazkcOXrIdevi7FQ"),
    ("nosuchscheme://user:secret@host/path", "secret"),
    ("mailto://user:secret@@@", "secret"),
])
def test_redact_masks_tokens_even_in_urls_apprise_rejects(url, secret):
    shown = redact(url)
    assert secret not in shown
    assert shown.startswith(url.split("://")[0] + "://")


# --------------------------------------------------------------------------- process hygiene

def test_importing_send_does_not_import_apprise():
    code = "import sys, insurtrack.sla.send; print('apprise' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_apprise_logging_is_captured_and_the_logger_restored(http_receiver, caplog):
    log = logging.getLogger("apprise")
    level, propagate = log.level, log.propagate
    http_receiver.failing = True

    with caplog.at_level(logging.DEBUG):
        assert send(http_receiver.url(), title="t", body="b")

    assert (log.level, log.propagate) == (level, propagate)
    assert [r for r in caplog.records if r.name.startswith("apprise")] == []
