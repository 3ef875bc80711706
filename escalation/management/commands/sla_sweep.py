import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from escalation.sweep import sweep


class Command(BaseCommand):
    help = "Fire due SLA warnings and escalations now (the same sweep Celery beat runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help="Sweep as if it were this moment (ISO-8601 with offset, e.g. "
            "2026-03-03T10:00:00+00:00).",
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(
        self, *args: object, now: str | None = None, batch_size: int = 500, **options: object
    ) -> None:
        moment = _parse_now(now) if now else None
        result = sweep(now=moment, batch_size=batch_size)
        self.stdout.write(str(result))


def _parse_now(value: str) -> datetime.datetime:
    try:
        moment = parse_datetime(value.strip().replace(" ", "T", 1))
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--now: {value!r} is not an ISO-8601 date-time.")
    if moment.tzinfo is None:
        raise CommandError(f"--now: {value!r} has no UTC offset (add +00:00 or Z).")
    return moment
