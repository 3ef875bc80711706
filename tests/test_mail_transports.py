"""The transports against real peers: the ingest command as an MTA pipe, an LMTP client, a
Dovecot IMAP server, an ESP webhook, and two processes delivering the same message at once."""

import base64
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection
from imap_tools import MailBoxUnencrypted

from tests.mail import CORPUS, eml
from tickets.mail import imap
from tickets.mail.lmtp import controller
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.models import Ticket

ROOT = Path(__file__).resolve().parent.parent
DOVECOT_SCRIPT = ROOT / "scripts" / "dovecot-test-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def database_url() -> str:
    """The test database, for child processes; PostgreSQL only (SQLite tests use :memory:)."""
    s = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("child processes need the PostgreSQL test database")
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def manage(*args, db_url: str, tmp_path, stdin: bytes | None = None, **popen):
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EMAIL_URL": "dummymail://",
        "CELERY_TASK_ALWAYS_EAGER": "true",
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
        **popen,
    )


# --- ingest_email -----------------------------------------------------------

committed = pytest.mark.django_db(transaction=True)


@pytest.mark.integration
@committed
def test_ingest_email_from_a_file_and_from_stdin(alice, tmp_path):
    url = database_url()
    by_file = manage(
        "ingest_email",
        str(CORPUS / "plain_new.eml"),
        "--to",
        "premier@eservice.example",
        db_url=url,
        tmp_path=tmp_path,
    )
    assert by_file.returncode == 0, by_file.stderr
    assert b"<CAF1x2plain@mail.acme.example> done" in by_file.stdout
    by_stdin = manage(
        "ingest_email", db_url=url, tmp_path=tmp_path, stdin=eml("multipart_alternative.eml")
    )
    assert by_stdin.returncode == 0, by_stdin.stderr
    subjects = set(Ticket.objects.values_list("subject", flat=True))
    assert subjects == {"Heatmap not loading on the pricing page", "Zoning numbers look wrong"}
    message = InboundMessage.objects.get(key="<CAF1x2plain@mail.acme.example>")
    assert message.envelope_to == ["premier@eservice.example"]


@pytest.mark.integration
@committed
def test_ingest_email_exits_0_when_stored_even_if_processing_failed(alice, tmp_path):
    # A mail with no sender address at all and an unparsable date still stores.
    raw = b"Subject: \xff\xfe broken\r\nDate: not a date\r\n\r\nbody\r\n"
    result = manage("ingest_email", db_url=database_url(), tmp_path=tmp_path, stdin=raw)
    assert result.returncode == 0, result.stderr
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.QUARANTINED and bytes(message.raw) == raw


@pytest.mark.integration
def test_ingest_email_exits_75_when_the_database_is_down(tmp_path):
    port = free_port()  # nothing listens here
    result = manage(
        "ingest_email",
        str(CORPUS / "plain_new.eml"),
        db_url=f"postgres://postgres@127.0.0.1:{port}/nowhere",
        tmp_path=tmp_path,
    )
    assert result.returncode == 75, result.stderr
    assert b"could not store" in result.stderr


@pytest.mark.integration
@committed
def test_the_same_message_ingested_by_two_processes_at_once_makes_one_ticket(alice, tmp_path):
    url = database_url()
    path = str(CORPUS / "plain_new.eml")
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(
            pool.map(
                lambda _: manage("ingest_email", path, db_url=url, tmp_path=tmp_path), range(4)
            )
        )
    assert [r.returncode for r in runs] == [0, 0, 0, 0], [r.stderr for r in runs]
    assert Ticket.objects.count() == 1
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.DONE and message.attempts == 1


# --- LMTP -----------------------------------------------------------


@pytest.fixture
def lmtp_server(settings):
    settings.EMAIL_MAX_MESSAGE_BYTES = 64 * 1024
    port = free_port()
    ctl = controller("127.0.0.1", port, inline=True)
    ctl.start()
    yield port
    ctl.stop()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_delivery_is_acknowledged_per_recipient_and_makes_a_ticket(alice, lmtp_server):
    client = smtplib.LMTP("127.0.0.1", lmtp_server)
    try:
        code, _ = client.ehlo("mx.eservice.example")
        assert code == 250
        refused = client.sendmail(
            "alice@acme.example", ["premier@eservice.example"], eml("plain_new.eml")
        )
        assert refused == {}
    finally:
        client.quit()
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.DONE
    assert message.envelope_from == "alice@acme.example"
    assert message.envelope_to == ["premier@eservice.example"]
    assert message.ticket.reporter == alice


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lmtp_refuses_an_oversized_message_with_552(alice, lmtp_server):
    big = eml("plain_new.eml") + (b"x" * 76 + b"\r\n") * 1000
    client = smtplib.LMTP("127.0.0.1", lmtp_server)
    try:
        client.ehlo("mx.eservice.example")
        # Declared size: refused at MAIL FROM.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("alice@acme.example", ["premier@eservice.example"], big)
        assert refused.value.smtp_code == 552
        client.rset()
        # Undeclared size: refused at the end of DATA.
        assert client.mail("alice@acme.example")[0] == 250
        assert client.rcpt("premier@eservice.example")[0] == 250
        code, text = client.data(big)
        assert (code, text) == (552, b"5.3.4 Message too big")
    finally:
        client.close()
    assert not InboundMessage.objects.exists() and not Ticket.objects.exists()


# --- IMAP against Dovecot -----------------------------------------------------------


@pytest.fixture
def dovecot():
    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()):
        pytest.fail("dovecot-imapd is not installed (the test command installs it)")
    port = free_port()
    user, password = "intake@eservice.test", "intake-secret"
    process = subprocess.Popen(
        # Its own temp dir (pytest's tmp_path is not readable by Dovecot's auth user).
        [str(DOVECOT_SCRIPT), "--port", str(port), "--user", user, "--password", password],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"imap://{user}:{password}@127.0.0.1:{port}/INBOX", port, user, password
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.mark.integration
@pytest.mark.django_db
def test_imap_poller_stores_processes_and_moves_to_processed(alice, dovecot, monkeypatch):
    url, port, user, password = dovecot
    with MailBoxUnencrypted("127.0.0.1", port=port).login(user, password) as box:
        box.append(eml("plain_new.eml"), "INBOX")
        box.append(eml("unknown_sender.eml"), "INBOX")
        box.append(eml("multipart_alternative.eml").replace(b"Zoning", b"STORE-FAILS"), "INBOX")

    real_store = imap.store

    def flaky_store(raw, *args, **kwargs):
        if b"STORE-FAILS" in raw:
            raise RuntimeError("database unavailable")
        return real_store(raw, *args, **kwargs)

    monkeypatch.setattr(imap, "store", flaky_store)
    assert imap.poll(url) == 2
    statuses = dict(InboundMessage.objects.values_list("key", "status"))
    assert statuses == {
        "<CAF1x2plain@mail.acme.example>": InboundStatus.DONE,
        "<unknown-1@mail.unknown-company.example>": InboundStatus.QUARANTINED,
    }
    assert Ticket.objects.get().reporter == alice
    with MailBoxUnencrypted("127.0.0.1", port=port).login(user, password) as box:
        inbox = [m.subject for m in box.fetch(mark_seen=False)]
        box.folder.set("Processed")
        processed = sorted(m.subject for m in box.fetch(mark_seen=False))
    assert inbox == ["STORE-FAILS numbers look wrong"]  # left for the next run
    assert processed == ["Heatmap not loading on the pricing page", "Need help with heatmaps"]

    monkeypatch.setattr(imap, "store", real_store)
    assert imap.poll(url) == 1
    assert Ticket.objects.count() == 2


# --- anymail inbound webhook -----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db
def test_postmark_inbound_webhook_makes_a_ticket(alice, client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    payload = {
        "Headers": [{"Name": "Return-Path", "Value": "<alice@acme.example>"}],
        "RawEmail": eml("plain_new.eml").decode(),
        "OriginalRecipient": "premier@eservice.example",
    }
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    response = client.post(
        "/mail/anymail/postmark/inbound/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert message.status == InboundStatus.DONE and message.envelope_from == "alice@acme.example"
    assert message.ticket.reporter == alice
    forged = client.post(
        "/mail/anymail/postmark/inbound/", json.dumps(payload), content_type="application/json"
    )
    # Without the secret: 401 (spec 8; it was anymail's 400 before).
    assert forged.status_code == 401 and InboundMessage.objects.count() == 1


def _post_postmark(client, raw: bytes, **extra):
    payload = {
        "Headers": [{"Name": "Return-Path", "Value": "<alice@acme.example>"}],
        "RawEmail": raw.decode(),
        "OriginalRecipient": "premier@eservice.example",
        **extra,
    }
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    return client.post(
        "/mail/anymail/postmark/inbound/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )


def test_the_webhook_stores_the_bytes_the_service_sent(alice, client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    raw = eml("attachment_pdf_inline_image.eml")
    assert _post_postmark(client, raw).status_code == 200
    message = InboundMessage.objects.get()
    assert bytes(message.raw) == raw
    assert message.status == InboundStatus.DONE and message.ticket.attachments.count() == 2


def test_a_header_the_service_adds_is_stored_with_the_message(alice, client, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    bcc = {"BccFull": [{"Email": "premier@eservice.example", "Name": ""}]}
    assert _post_postmark(client, eml("plain_new.eml"), **bcc).status_code == 200
    message = InboundMessage.objects.get()
    assert b"Bcc: premier@eservice.example" in bytes(message.raw)
    assert message.status == InboundStatus.DONE


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml")))
def test_anymails_parse_of_the_corpus_is_unchanged(name):
    from email.parser import BytesParser
    from email.policy import default as default_policy

    from anymail.inbound import AnymailInboundMessage

    raw = eml(name)
    ours = AnymailInboundMessage.parse_raw_mime(raw.decode("utf-8", "replace"))
    text = raw.decode("utf-8", "replace").encode("utf-8")
    theirs = BytesParser(AnymailInboundMessage, policy=default_policy).parsebytes(text)
    assert [(p.get_content_type(), [str(v) for v in p.values()]) for p in ours.walk()] == [
        (p.get_content_type(), [str(v) for v in p.values()]) for p in theirs.walk()
    ]
    assert ours.text == theirs.text and ours.html == theirs.html
    assert [a.get_content_bytes() for a in ours.attachments] == [
        a.get_content_bytes() for a in theirs.attachments
    ]


def test_the_imap_poll_is_on_beat_only_when_imap_url_is_set(tmp_path):
    from tests.test_deploy_settings import beat_schedule
    from tickets.mail.tasks import poll_imap

    assert "mail-poll-imap" not in beat_schedule(tmp_path)
    assert poll_imap() == 0  # nothing configured, nothing polled
    entry = beat_schedule(tmp_path, IMAP_URL="imap://intake:secret@127.0.0.1:8710/INBOX")[
        "mail-poll-imap"
    ]
    assert entry["task"] == "mail.poll_imap" and entry["options"]["expires"] > 0
