"""Demo data for a first look: one organization per region, users and tickets in every state.

Tickets are made only through tickets.services, so the SLA engine computes their deadlines
exactly as it does for real traffic. Idempotent: when the demo organizations exist it says so
and changes nothing.
"""

import datetime
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Organization, Region, User
from escalation.models import OnCallShift
from sla.availability import services as availability
from tickets import services as tickets
from tickets.models import Channel, Feature, Priority, Status

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

REGION_ZONES = {
    Region.GMT: ZoneInfo("Europe/London"),
    Region.US_EST: ZoneInfo("America/New_York"),
    Region.US_PST: ZoneInfo("America/Los_Angeles"),
}

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"


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
        with transaction.atomic():
            logins = self._seed()
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

        self._tickets(clients, staff["sam"])
        self._outage(staff["sam"])
        self._on_call(staff["sam"], staff["morgan"])
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

    def _outage(self, actor):
        """A 5½-hour outage on a Tuesday last month: availability below 99.5 %, one credit."""
        first_of_month = timezone.localdate().replace(day=1)
        last_month = (first_of_month - datetime.timedelta(days=1)).replace(day=1)
        tuesday = last_month + datetime.timedelta(days=(1 - last_month.weekday()) % 7 + 7)
        start = datetime.datetime.combine(tuesday, datetime.time(9), tzinfo=datetime.UTC)
        availability.record_incident(
            actor=actor,
            started_at=start,
            ended_at=start + datetime.timedelta(hours=5, minutes=30),
            summary="Replays and heatmaps unavailable after a storage failover",
        )
        availability.close_month(last_month)

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

    def _at(self, client, days_ago, hour, minute=0, *, weekday=True):
        """A past moment in the client's region: `days_ago` days back at hh:mm local time.

        With `weekday`, a Saturday or Sunday moves back to the Friday, so reports land in
        business hours as the story intends. Never later than a minute ago.
        """
        zone = REGION_ZONES[client.organization.contract.region]
        day = timezone.localdate(self.now, zone) - datetime.timedelta(days=days_ago)
        while weekday and day.weekday() >= 5:
            day -= datetime.timedelta(days=1)
        moment = datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)
        return min(moment.astimezone(datetime.UTC), self.now - datetime.timedelta(minutes=1))

    @staticmethod
    def _later(moment, **delta):
        return moment + datetime.timedelta(**delta)

    def _open(self, client, subject, description, *, received_at, priority=None, **extra):
        extra.setdefault("user_agent", CHROME_UA)
        return tickets.open_ticket(
            organization=client.organization,
            reporter=client,
            subject=subject,
            description=description,
            priority=priority,
            received_at=received_at,
            **extra,
        )

    def _tickets(self, clients, sam):
        alice, bob, carol = clients

        # New: just filed, nobody has looked at it yet.
        self._open(
            alice,
            "Heatmap shows no clicks on the checkout page",
            "Since this morning the click heatmap of /checkout is empty, other pages are fine.",
            priority=Priority.P2,
            feature=Feature.HEATMAPS,
            received_at=self.now - datetime.timedelta(hours=2),
        )

        # Open: triaged, diagnosis started, a public reply, an internal note, a client reply.
        received = self._at(alice, 3, 10, 5)
        ticket = self._open(
            alice,
            "Session replay lags several minutes behind",
            "Replays of today's sessions only appear after 10-15 minutes.",
            priority=Priority.P1,
            feature=Feature.SESSION_REPLAY,
            received_at=received,
        )
        tickets.triage(ticket, priority=Priority.P1, actor=sam)
        tickets.start_diagnosis(ticket, actor=sam, at=self._later(received, minutes=50))
        tickets.add_comment(
            ticket,
            author=sam,
            body="We are looking at the ingestion queue for your project and will update you.",
            at=self._later(received, hours=1, minutes=10),
        )
        tickets.add_comment(
            ticket,
            author=sam,
            body="Internal: ingestion lag on shard eu-3, infra team paged.",
            internal=True,
            at=self._later(received, hours=1, minutes=30),
        )
        tickets.add_comment(
            ticket,
            author=alice,
            body="Thanks, it is still lagging this morning.",
            at=self._later(received, days=1, hours=-1),
        )

        # Pending: waiting for the customer to send a HAR file.
        received = self._at(bob, 6, 14, 20)
        ticket = self._open(
            bob,
            "Zoning percentages differ from our analytics tool",
            "Click rates on the home page zones are about 20% lower than in our own tool.",
            priority=Priority.P2,
            feature=Feature.ZONING,
            received_at=received,
        )
        tickets.triage(ticket, priority=Priority.P2, actor=sam)
        tickets.start_diagnosis(ticket, actor=sam, at=self._later(received, hours=2))
        tickets.add_comment(
            ticket,
            author=sam,
            body="Could you send us a HAR file recorded while loading the home page?",
            at=self._later(received, hours=2, minutes=30),
        )
        tickets.set_status(ticket, status=Status.PENDING, actor=sam)

        # Resolved: a P1 login problem, fixed two days after the report.
        received = self._at(bob, 12, 9, 40)
        ticket = self._open(
            bob,
            "Login fails with SSO for part of our team",
            "Users of the marketing group get 'invalid assertion' when signing in with SSO.",
            priority=Priority.P0,
            feature=Feature.WORKSPACE,
            received_at=received,
        )
        tickets.triage(ticket, priority=Priority.P1, actor=sam)
        tickets.start_diagnosis(ticket, actor=sam, at=self._later(received, hours=1))
        tickets.add_comment(
            ticket,
            author=sam,
            body="The SAML certificate rotated on our side; we are rolling out the fix.",
            at=self._later(received, hours=3),
        )
        tickets.resolve(
            ticket,
            actor=sam,
            at=self._later(received, days=2),
            resolution="New certificate deployed; SSO works again for every group.",
        )

        # Closed: a low-priority request, resolved then closed.
        received = self._at(carol, 20, 11, 0)
        ticket = self._open(
            carol,
            "Workspace CSV export is missing the segment column",
            "The export of a workspace report does not include the segment name.",
            priority=Priority.P3,
            feature=Feature.WORKSPACE,
            received_at=received,
        )
        tickets.triage(ticket, priority=Priority.P3, actor=sam)
        tickets.add_comment(
            ticket,
            author=sam,
            body="Known issue: export from the report page meanwhile, it includes segments.",
            at=self._later(received, hours=4),
        )
        tickets.resolve(
            ticket,
            actor=sam,
            at=self._later(received, days=3),
            resolution="Fixed in release 24.3: the segment column is exported.",
        )
        tickets.set_status(ticket, status=Status.CLOSED, actor=sam)

        # Excluded: not an Anomaly under the contract (a browser other than current Chrome).
        received = self._at(carol, 9, 15, 30)
        ticket = self._open(
            carol,
            "Replay player is blank",
            "The replay player shows a blank frame for every session.",
            priority=Priority.P1,
            feature=Feature.SESSION_REPLAY,
            received_at=received,
            user_agent=FIREFOX_UA,
        )
        tickets.triage(ticket, priority=Priority.P2, actor=sam)
        tickets.start_diagnosis(ticket, actor=sam, at=self._later(received, hours=1))
        tickets.set_exclusion(
            ticket,
            excluded=True,
            reason="Reported from Firefox 115: only current Google Chrome is supported.",
            actor=sam,
        )

        # P0 by phone, at night on the 24/7 line: logged by the agent after the call, resolved
        # within hours.
        received = self._at(bob, 4, 21, 15, weekday=False)
        ticket = tickets.open_ticket(
            organization=bob.organization,
            reporter=bob,
            actor=sam,
            subject="Tracking tag slows down our whole site",
            description="Phone call: pages take 8 s to load since the tag update; site unusable.",
            priority=Priority.P0,
            feature=Feature.OTHER,
            channel=Channel.PHONE,
            received_at=received,
        )
        tickets.start_diagnosis(ticket, actor=sam, at=self._later(received, minutes=25))
        tickets.add_comment(
            ticket,
            author=sam,
            body="We rolled the tag back to the previous version; please confirm.",
            at=self._later(received, hours=1, minutes=40),
        )
        tickets.add_comment(
            ticket,
            author=bob,
            body="Confirmed, the site is fast again.",
            at=self._later(received, hours=2),
        )
        tickets.resolve(
            ticket,
            actor=sam,
            at=self._later(received, hours=2, minutes=30),
            resolution="Tag rolled back; root cause fixed in the next tag release.",
        )

    # -- output ---------------------------------------------------------------------------

    def _print_logins(self, logins):
        width = max(len(username) for username, _, _ in logins)
        pw_width = max(len(password) for _, password, _ in logins)
        self.stdout.write(self.style.SUCCESS("Demo data created."))
        self.stdout.write("Demo logins (DEMO ONLY, never use these passwords for real):")
        self.stdout.write(f"  {'username':<{width}}  {'password':<{pw_width}}  role")
        for username, password, role in logins:
            self.stdout.write(f"  {username:<{width}}  {password:<{pw_width}}  {role}")
