from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the LMTP listener the MTA delivers intake mail to (aiosmtpd)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8024)
        parser.add_argument(
            "--inline", action="store_true", help="process in this process, not via Celery"
        )

    def handle(self, *args, host, port, inline, **options):
        from tickets.mail.lmtp import serve

        self.stdout.write(f"LMTP listening on {host}:{port}")
        self.stdout.flush()
        serve(host, port, inline=inline)
