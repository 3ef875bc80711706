"""Demo data for a first look: one organization per region, users and tickets in every state.

Tickets are made only through the services, played in time order (portal.demo_tickets), so
the SLA engine and the escalation sweep treat them exactly as real traffic. Idempotent: when
the demo organizations exist it says so and changes nothing. Links in mail and notices use
SITE_URL (`make run` sets it from PORT).
"""

import datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Organization, Region, User
from escalation.models import OnCallShift
from notifications.models import Notification, Status
from portal.demo_tickets import DemoTickets

DEMO_PASSWORD = "demo-pass-2026"  # Demo only: never use seed_demo on a real deployment.

ORGANIZATIONS = [
    # (name, region, plan, email domain, client username, client full name)
    (
        "Demo Retail (GMT)",
        Region.GMT,
        "platinum",
        "retail.demo.example",
        "alice_gmt",
        "Alice Green",
    ),
    (
        "Demo Travel (US-EST)",
        Region.US_EST,
        "platinum",
        "travel.demo.example",
        "bob_est",
        "Bob Easton",
    ),
    (
        "Demo Media (US-PST)",
        Region.US_PST,
        "standard",
        "media.demo.example",
        "carol_pst",
        "Carol Post",
    ),
]

STAFF = [
    # (username, full name, what they do)
    ("sam", "Sam Agent", "support agent"),
    ("morgan", "Morgan Lead", "Customer Support Manager (escalation level 1)"),
    ("avery", "Avery Accounts", "Customer Account Manager (escalation level 2)"),
]


class Command(BaseCommand):
    help = "Create demo organizations, users and tickets in every state (idempotent)."

    def handle(self, *args, **options):
        names = [org[0] for org in ORGANIZATIONS]
        existing = list(Organization.objects.filter(name__in=names).values_list("name", flat=True))
        if existing:
            self.stdout.write(
                f"Demo data already present ({', '.join(sorted(existing))}); nothing to do."
            )
            return
        # The story's mail happened "in the past": record it (threading needs the Message-IDs)
        # but send nothing now, so starting the site pages and mails no one.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            with transaction.atomic():
                first = Notification.objects.order_by("-pk").values_list("pk", flat=True).first()
                logins = self._seed()
                # Its notifications belong to the story's past too: kept, never delivered.
                Notification.objects.filter(pk__gt=first or 0, status=Status.PENDING).update(
                    status=Status.SKIPPED, last_error="demo data: recorded, not sent"
                )
        self._print_logins(logins)

    # -- building -------------------------------------------------------------------------

    def _seed(self):
        self.now = timezone.now().replace(second=0, microsecond=0)
        logins = []
        staff = {}
        for username, full_name, what in STAFF:
            staff[username], row = self._user(
                username, full_name, f"{username}@eservice.localhost", role="staff"
            )
            logins.append((*row, what))
        staff["admin"], row = self._superuser()
        logins.append((*row, "superuser: the admin site"))

        clients = []
        for name, region, plan, domain, username, full_name in ORGANIZATIONS:
            org = accounts.create_organization(
                name=name,
                region=region,
                plan=plan,
                email_domains=[domain],
                start_date=timezone.localdate() - datetime.timedelta(days=90),
            )
            contract = org.contract
            contract.support_manager = staff["morgan"]
            contract.account_manager = staff["avery"]
            contract.save(update_fields=["support_manager", "account_manager"])
            user, row = self._user(
                username, full_name, f"{username.split('_')[0]}@{domain}", organization=org
            )
            logins.append((*row, f"client, org admin of {name} ({plan})"))
            clients.append(user)

        self._on_call(staff["sam"], staff["morgan"])
        DemoTickets(self.now, clients, staff).play()
        return logins

    def _on_call(self, *engineers):
        """Weekly P0 shifts from this Monday for four weeks, the engineers taking turns."""
        today = timezone.localdate()
        monday = datetime.datetime.combine(
            today - datetime.timedelta(days=today.weekday()), datetime.time(), tzinfo=datetime.UTC
        )
        for week in range(4):
            starts = monday + datetime.timedelta(weeks=week)
            for region in Region.values:
                OnCallShift.objects.create(
                    engineer=engineers[week % len(engineers)],
                    region=region,
                    starts_at=starts,
                    ends_at=starts + datetime.timedelta(weeks=1),
                )

    def _user(self, username, full_name, email, *, role="client", organization=None):
        user = User.objects.filter(username__iexact=username).first()
        if user is not None:
            return user, (username, "(existing account, password unchanged)")
        first, _, last = full_name.partition(" ")
        user = accounts.create_user(
            username=username,
            email=email,
            password=DEMO_PASSWORD,
            organization=organization,
            role=role,
            is_org_admin=role == "client",
            first_name=first,
            last_name=last,
        )
        return user, (username, DEMO_PASSWORD)

    def _superuser(self):
        user = User.objects.filter(username__iexact="admin").first()
        if user is not None:
            return user, ("admin", "(existing account, password unchanged)")
        user = User.objects.create_superuser(
            username="admin", email="admin@eservice.localhost", password=DEMO_PASSWORD
        )
        return user, ("admin", DEMO_PASSWORD)

    # -- output ---------------------------------------------------------------------------

    def _print_logins(self, logins):
        width = max(len(username) for username, _, _ in logins)
        pw_width = max(len(password) for _, password, _ in logins)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self.stdout.write("Demo logins (DEMO ONLY, never use these passwords for real):")
        self.stdout.write(f"  {'username':<{width}}  {'password':<{pw_width}}  role")
        for username, password, role in logins:
            self.stdout.write(f"  {username:<{width}}  {password:<{pw_width}}  {role}")
