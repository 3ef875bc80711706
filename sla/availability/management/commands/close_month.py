from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import ServiceError
from sla.availability import services


class Command(BaseCommand):
    help = "Create the availability credits of a finished month (default: last month). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: the previous month)")

    def handle(self, *args: object, month: str | None = None, **options: object) -> None:
        try:
            target = (
                services.parse_month(month)
                if month
                else services.previous_month(services.current_month())
            )
            created = services.close_month(target)
        except ServiceError as error:
            raise CommandError(error.message) from error
        for credit in created:
            self.stdout.write(f"{credit.organization}: {credit.days} credit day(s)")
        self.stdout.write(f"{target:%Y-%m}: {len(created)} new availability credit(s).")
