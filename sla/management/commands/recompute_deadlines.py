"""Recompute stored SLA deadlines of active tickets, e.g. after a holiday was added."""

from django.core.management.base import BaseCommand, CommandError

from sla import engine
from sla.calendars import REGIONS


class Command(BaseCommand):
    help = "Recompute the SLA deadlines of active tickets (all regions, or --region)."

    def add_arguments(self, parser):
        parser.add_argument("--region", choices=sorted(REGIONS), help="Only this support region.")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--no-progress", action="store_true", help="No progress on stderr.")

    def handle(self, *args, region=None, batch_size=500, no_progress=False, **options):
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

    def _progress(self, done, total):
        self.stderr.write(f"\r{done:,}/{total:,}", ending="")
        self.stderr.flush()
