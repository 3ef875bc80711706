"""Recompute stored SLA deadlines of active tickets, e.g. after a holiday was added."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sla import engine
from sla.calendars import REGIONS


class Command(BaseCommand):
    help = "Recompute the SLA deadlines of active tickets (all regions, or --region)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", choices=sorted(REGIONS), help="Only this support region.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="No progress on stderr.")

    def handle(
        self,
        *args: object,
        region: str | None = None,
        batch_size: int = 500,
        no_progress: bool = False,
        **options: object,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        progress = None if no_progress else self._progress
        result = engine.recompute_active(region, batch_size=batch_size, progress=progress)
        if progress:
            self.stderr.write("")
        self.stdout.write(
            f"{result.tickets:,} active tickets checked, {result.changed_tickets:,} updated, "
            f"{result.changed_deadlines:,} deadlines changed."
        )

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"\r{done:,}/{total:,}", ending="")
        self.stderr.flush()
