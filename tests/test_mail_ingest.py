"""ingest_email with several files, in this process: stored in one INSERT and one commit,
then processed as one batch; a file that cannot be read still exits 75 (the MTA retries)."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.mail import CORPUS, eml
from tickets.mail import store as store_module
from tickets.mail.models import InboundMessage, InboundStatus
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _files(tmp_path, n: int) -> list[str]:
    paths = []
    for i in range(n):
        path = tmp_path / f"{i}.eml"
        path.write_bytes(eml("plain_new.eml", **{"<CAF1x2plain@": f"<ingest-{i}@"}))
        paths.append(str(path))
    return paths


def _ingest(*files) -> list[str]:
    out = io.StringIO()
    call_command("ingest_email", *files, to="premier@eservice.example", stdout=out)
    return out.getvalue().splitlines()


def test_several_files_are_stored_in_one_insert_and_each_processed_once(alice, tmp_path):
    files = _files(tmp_path, 3)
    _ingest(files[0])  # stored and processed before: its line says so again
    with CaptureQueriesContext(connection) as queries:
        lines = _ingest(*files, files[1])
    inserts = [
        q
        for q in queries.captured_queries
        if q["sql"].startswith('INSERT INTO "mail_inboundmessage"')
    ]
    assert len(inserts) == 1
    assert lines == [f"<ingest-{i}@mail.acme.example> done" for i in range(3)]
    assert Ticket.objects.count() == 3
    assert set(InboundMessage.objects.values_list("attempts", flat=True)) == {1}


def test_several_files_are_stored_one_at_a_time_when_the_group_fails(alice, tmp_path, monkeypatch):
    def failing(items, **kwargs):
        raise RuntimeError("the group could not be inserted")

    monkeypatch.setattr(store_module, "store_each", failing)
    assert len(_ingest(*_files(tmp_path, 2))) == 2
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {InboundStatus.DONE}


def test_a_file_that_cannot_be_read_exits_75_after_the_earlier_ones_are_stored(alice, tmp_path):
    files = _files(tmp_path, 2)
    with pytest.raises(SystemExit) as exited:
        _ingest(*files, str(tmp_path / "missing.eml"), str(CORPUS / "plain_new.eml"))
    assert exited.value.code == 75
    stored = InboundMessage.objects.order_by("key").values_list("key", "status")
    assert list(stored) == [
        ("<ingest-0@mail.acme.example>", InboundStatus.STORED),
        ("<ingest-1@mail.acme.example>", InboundStatus.STORED),
    ]
