"""`make run` migrates SQLite: the PostgreSQL-only parts of the search migrations are skipped,
and search, counts, keyset pages and the breach rule still work there."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import datetime, json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.utils import timezone
from core.paging import Keyset, capped_count
from tests.factories import OrganizationFactory, TicketFactory
from tickets.models import Ticket
org = OrganizationFactory()
now = timezone.now()
late = TicketFactory(organization=org, subject="Heatmap blank", description="d",
                     response_due_at=now - datetime.timedelta(hours=1))
other = TicketFactory(organization=org, subject="Login loop", description="the zoning view")
first, more = Keyset.of(Ticket.objects.all()).rows(None, 1)
print(json.dumps({
    "heatmap": [t.pk for t in Ticket.objects.search("heatmap")],
    "zoning": [t.pk for t in Ticket.objects.search("zoning")],
    "reference": [t.pk for t in Ticket.objects.search(other.reference)],
    "count": capped_count(Ticket.objects.all()),
    "breached": [t.pk for t in Ticket.objects.breached(now)],
    "first_page": [t.pk for t in first], "more": more,
    "ids": [late.pk, other.pk],
}))
"""


def test_search_migrations_and_lists_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ESERVICE_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    late, other = out["ids"]
    assert out["heatmap"] == [late]
    assert out["zoning"] == [other]
    assert out["reference"] == [other]
    assert out["count"] == 2
    assert out["breached"] == [late]
    assert out["first_page"] == [other] and out["more"] is True
