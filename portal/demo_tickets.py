"""The demo's tickets, credits and mail as one story (played by portal.demo_story.Story).

Every open ticket's SLA state follows from its times: on track, at risk (75 % of the target
gone, the warning recorded), breached (the deadline passed, level 1 fired, then the client
asked for level 2). Resolved tickets were resolved in time except one, whose late resolution
earned a credit the client claimed; last month's outage earned credits, one of them granted.
"""

import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from escalation.services import request_escalation
from sla import business_time as bt
from sla.availability import services as availability
from sla.availability.models import CreditKind, ServiceCredit
from sla.calendars import region_timezone
from sla.engine import calendar_for_region
from tickets import client_actions
from tickets import services as tickets
from tickets.mail import pipeline, store
from tickets.models import Channel, Feature, Priority, Status, Ticket

from .demo_story import Story

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"


def minutes(n):
    return datetime.timedelta(minutes=n)


def hours(n):
    return datetime.timedelta(hours=n)


class DemoTickets:
    def __init__(self, now, clients, staff):
        self.story = Story(now)
        self.now = now
        self.alice, self.bob, self.carol = clients
        self.sam = staff["sam"]

    # -- moments --------------------------------------------------------------------------

    def local(self, client, days_ago, hour, minute=0, *, weekday=True):
        """`days_ago` days back at hh:mm in the client's region; weekends move to Friday."""
        zone = ZoneInfo(region_timezone(client.organization.contract.region))
        day = timezone.localdate(self.now, zone) - datetime.timedelta(days=days_ago)
        while weekday and day.weekday() >= 5:
            day -= datetime.timedelta(days=1)
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zone)

    def business_ago(self, client, spent: datetime.timedelta):
        """The moment from which `spent` business time has elapsed by now."""
        calendar = calendar_for_region(client.organization.contract.region)
        moment = self.now
        while bt.business_time_between(calendar, moment, self.now) < spent:
            moment -= minutes(5)
        return moment

    # -- steps ----------------------------------------------------------------------------

    def open(self, key, client, at, subject, description, priority, feature, **extra):
        def step():
            extra.setdefault("user_agent", CHROME_UA)
            ticket = tickets.open_ticket(
                organization=client.organization,
                reporter=client,
                subject=subject,
                description=description,
                priority=priority,
                feature=feature,
                received_at=timezone.now(),
                **extra,
            )
            self.story.keep(key, ticket)
            if extra.get("channel", Channel.WEB) == Channel.WEB:
                client_actions.mark_viewed(client, ticket)  # the portal shows it on filing

        self.story.at(at, step)

    def then(self, key, at, verb, **kwargs):
        """Call a ticket service on the story's ticket `key` at `at`. A client acting in the
        portal is looking at the ticket, so it counts as viewed (as the page would record)."""
        person = kwargs.get("actor") or kwargs.get("author")

        def step():
            verb(self.story.ticket(key), **kwargs)
            if person is not None and not person.is_staff:
                client_actions.mark_viewed(person, self.story.ticket(key))

        self.story.at(at, step)

    def reply(self, key, at, author, body, **kwargs):
        self.then(key, at, tickets.add_comment, author=author, body=body, **kwargs)

    def viewed(self, key, at, user):
        self.story.at(at, lambda: client_actions.mark_viewed(user, self.story.ticket(key)))

    def mail(self, at, raw: str, to: str):
        def step():
            message, _created = store.store(raw.encode(), rcpt_tos=[to])
            pipeline.process(message.pk)

        self.story.at(at, step)

    # -- the story ------------------------------------------------------------------------

    def play(self):
        for chapter in (
            self.new_heatmap,
            self.open_replay_lag,
            self.at_risk_latency,
            self.breached_data_gap,
            self.pending_zoning,
            self.closed_sso_with_rating,
            self.resolved_phone_p0,
            self.resolved_late_with_claim,
            self.closed_p3_export,
            self.excluded_firefox,
            self.mailed_in,
            self.outage_and_credits,
        ):
            chapter()
        self.story.play()

    def new_heatmap(self):
        self.open(
            "heatmap", self.alice, self.now - hours(2),
            "Heatmap shows no clicks on the checkout page",
            "Since this morning the click heatmap of /checkout is empty, other pages are fine.",
            Priority.P2, Feature.HEATMAPS,
        )  # fmt: skip

    def open_replay_lag(self):
        at, sam, alice = self.local(self.alice, 3, 10, 5), self.sam, self.alice
        self.open(
            "lag", alice, at, "Session replay lags several minutes behind",
            "Replays of today's sessions only appear after 10-15 minutes.",
            Priority.P1, Feature.SESSION_REPLAY,
        )  # fmt: skip
        self.then("lag", at + minutes(20), tickets.triage, priority=Priority.P1, actor=sam)
        self.then("lag", at + minutes(25), tickets.assign, assignee=sam, actor=sam)
        self.then("lag", at + minutes(50), tickets.start_diagnosis, actor=sam)
        self.reply(
            "lag", at + minutes(70), sam,
            "We are looking at the ingestion queue for your project and will update you.",
        )  # fmt: skip
        self.reply(
            "lag", at + minutes(90), sam,
            "Internal: ingestion lag on shard eu-3, infra team paged.", internal=True,
        )  # fmt: skip
        self.viewed("lag", at + hours(2), alice)
        self.story.at(at + hours(23), self._mail_reply, "lag", MAIL_REPLY)
        self.reply(
            "lag", self.local(self.alice, 1, 15, 10), sam,
            "The shard was rebalanced overnight; lag is under a minute again. We keep watching "
            "it for two more days before resolving.",
        )  # fmt: skip

    def _mail_reply(self, key, template):
        """A client answers by mail; the subject's reference threads it onto the ticket."""
        ticket = self.story.ticket(key)
        raw = template.format(ref=ticket.reference, subject=ticket.subject)
        message, _created = store.store(raw.encode(), rcpt_tos=["premier@eservice.localhost"])
        pipeline.process(message.pk)

    def at_risk_latency(self):
        at = self.business_ago(self.alice, hours(5) + minutes(15))  # 6 h target: 45 min left
        self.open(
            "latency", self.alice, at, "Recordings of the product pages arrive late",
            "New recordings of /product/* show up about an hour after the visit.",
            Priority.P1, Feature.SESSION_REPLAY,
        )  # fmt: skip

    def breached_data_gap(self):
        at = self.business_ago(self.bob, hours(9) + minutes(30))  # 8 h target: 1 h 30 over
        self.open(
            "gap", self.bob, at, "Data gaps in yesterday's heatmaps",
            "The heatmaps of yesterday afternoon have no data between 14:00 and 16:00.",
            Priority.P2, Feature.HEATMAPS,
        )  # fmt: skip
        self.then("gap", at + minutes(30), tickets.triage, priority=Priority.P2, actor=self.sam)
        self.story.at(
            self.now - minutes(40),
            lambda: self._request_escalation("gap", self.bob, "Still no answer after a day."),
        )

    def _request_escalation(self, key, user, reason):
        request_escalation(self.story.ticket(key), user, reason)
        client_actions.mark_viewed(user, self.story.ticket(key))

    def pending_zoning(self):
        at, sam = self.local(self.bob, 6, 14, 20), self.sam
        self.open(
            "zoning", self.bob, at, "Zoning percentages differ from our analytics tool",
            "Click rates on the home page zones are about 20% lower than in our own tool.",
            Priority.P2, Feature.ZONING,
        )  # fmt: skip
        self.then("zoning", at + minutes(40), tickets.triage, priority=Priority.P2, actor=sam)
        self.then("zoning", at + hours(2), tickets.start_diagnosis, actor=sam)
        self.reply(
            "zoning", at + minutes(150), sam,
            "Could you send us a HAR file recorded while loading the home page?",
        )  # fmt: skip
        self.then("zoning", at + minutes(155), tickets.set_status, status=Status.PENDING, actor=sam)
        self.viewed("zoning", at + hours(4), self.bob)

    def closed_sso_with_rating(self):
        at, sam, bob = self.local(self.bob, 12, 9, 40), self.sam, self.bob
        self.open(
            "sso", bob, at, "Login fails with SSO for part of our team",
            "Users of the marketing group get 'invalid assertion' when signing in with SSO.",
            Priority.P0, Feature.WORKSPACE,
        )  # fmt: skip
        self.then("sso", at + minutes(30), tickets.triage, priority=Priority.P1, actor=sam)
        self.then("sso", at + hours(1), tickets.start_diagnosis, actor=sam)
        self.reply(
            "sso", at + hours(3), sam,
            "The SAML certificate rotated on our side; we are rolling out the fix.",
        )  # fmt: skip
        self.then(
            "sso", at + hours(26), tickets.resolve, actor=sam,
            resolution="New certificate deployed; SSO works again for every group.",
        )  # fmt: skip
        self.then("sso", at + hours(27), client_actions.confirm_resolution, actor=bob)
        self.then(
            "sso", at + hours(28), client_actions.rate, actor=bob, rating=5,
            comment="Quick and clear, thank you.",
        )  # fmt: skip

    def resolved_phone_p0(self):
        at, sam, bob = self.local(self.bob, 4, 21, 15, weekday=False), self.sam, self.bob
        self.open(
            "phone", bob, at, "Tracking tag slows down our whole site",
            "Phone call: pages take 8 s to load since the tag update; site unusable.",
            Priority.P0, Feature.OTHER, channel=Channel.PHONE, actor=sam,
        )  # fmt: skip
        self.then("phone", at + minutes(25), tickets.start_diagnosis, actor=sam)
        self.reply(
            "phone", at + minutes(100), sam,
            "We rolled the tag back to the previous version; please confirm.",
        )  # fmt: skip
        self.reply("phone", at + hours(2), bob, "Confirmed, the site is fast again.")
        self.then(
            "phone", at + minutes(150), tickets.resolve, actor=sam,
            resolution="Tag rolled back; root cause fixed in the next tag release.",
        )  # fmt: skip

    def resolved_late_with_claim(self):
        """A P0 (48 business hours to resolve) fixed after seven business days."""
        at, sam, alice = self.local(self.alice, 14, 9, 30), self.sam, self.alice
        self.open(
            "crash", alice, at, "Replay player crashes for every visitor of the Safari segment",
            "Opening any replay from the Safari segment crashes the player tab.",
            Priority.P0, Feature.SESSION_REPLAY,
        )  # fmt: skip
        self.then("crash", at + minutes(15), tickets.assign, assignee=sam, actor=sam)
        self.then("crash", at + minutes(40), tickets.start_diagnosis, actor=sam)
        self.reply(
            "crash", at + hours(2), sam,
            "Reproduced: a codec change broke decoding of Safari recordings. Fix in progress.",
        )  # fmt: skip
        done = self.local(self.alice, 4, 16, 0)
        self.then(
            "crash", done, tickets.resolve, actor=sam,
            resolution="Decoder fixed and recordings re-processed; every Safari replay plays.",
        )  # fmt: skip
        self.story.at(done + hours(20), self._claim, alice, "crash")

    def _claim(self, user, key):
        # The credit is made when the resolution commits; the seed is one transaction, so
        # make it now (idempotent: the commit-time call finds it claimed and leaves it).
        credit = availability.sync_resolution_credit(self.story.ticket(key))
        availability.claim(credit, user=user)

    def closed_p3_export(self):
        at, sam, carol = self.local(self.carol, 20, 11, 0), self.sam, self.carol
        self.open(
            "export", carol, at, "Workspace CSV export is missing the segment column",
            "The export of a workspace report does not include the segment name.",
            Priority.P3, Feature.WORKSPACE,
        )  # fmt: skip
        self.then("export", at + hours(1), tickets.triage, priority=Priority.P3, actor=sam)
        self.reply(
            "export", at + hours(4), sam,
            "Known issue: export from the report page meanwhile, it includes segments.",
        )  # fmt: skip
        self.then(
            "export", at + hours(72), tickets.resolve, actor=sam,
            resolution="Fixed in release 24.3: the segment column is exported.",
        )  # fmt: skip
        self.then("export", at + hours(75), client_actions.confirm_resolution, actor=carol)

    def excluded_firefox(self):
        at, sam = self.local(self.carol, 9, 15, 30), self.sam
        self.open(
            "firefox", self.carol, at, "Replay player is blank",
            "The replay player shows a blank frame for every session.",
            Priority.P1, Feature.SESSION_REPLAY, user_agent=FIREFOX_UA,
        )  # fmt: skip
        self.then("firefox", at + minutes(45), tickets.triage, priority=Priority.P2, actor=sam)
        self.then("firefox", at + hours(1), tickets.start_diagnosis, actor=sam)
        self.then(
            "firefox", at + minutes(70), tickets.set_exclusion, excluded=True, actor=sam,
            reason="Reported from Firefox 115: only current Google Chrome is supported.",
        )  # fmt: skip

    def mailed_in(self):
        """A colleague of Demo Travel writes to support@: a ticket by email, then answered."""
        at = self.local(self.bob, 1, 8, 30)
        self.mail(at, MAIL_NEW, "support@eservice.localhost")
        self.story.at(at + minutes(95), self._answer_mail)

    def _answer_mail(self):
        ticket = Ticket.objects.get(channel=Channel.EMAIL, subject=MAIL_SUBJECT)
        self.story.keep("mailed", ticket)
        tickets.start_diagnosis(ticket, actor=self.sam)
        tickets.add_comment(
            ticket,
            author=self.sam,
            body="Thanks Dana: the export job was queued behind a large backfill; it has run now.",
        )

    def outage_and_credits(self):
        """5½ hours down on a Tuesday last month: below 99.5 %, one credit per organization;
        Demo Retail claims its credit and support grants it."""
        first = timezone.localdate(self.now).replace(day=1)
        last_month = (first - datetime.timedelta(days=1)).replace(day=1)
        tuesday = last_month + datetime.timedelta(days=(1 - last_month.weekday()) % 7 + 7)
        start = datetime.datetime.combine(tuesday, datetime.time(9), tzinfo=datetime.UTC)
        self.story.at(
            start + hours(5.5),
            lambda: availability.record_incident(
                actor=self.sam,
                started_at=start,
                ended_at=start + hours(5.5),
                summary="Replays and heatmaps unavailable after a storage failover",
            ),
        )
        month_end = datetime.datetime.combine(first, datetime.time(0, 5), tzinfo=datetime.UTC)
        self.story.at(month_end, lambda: availability.close_month(last_month))
        self.story.at(month_end + hours(1), self._claim_and_grant_availability)

    def _claim_and_grant_availability(self):
        credit = ServiceCredit.objects.get(
            kind=CreditKind.AVAILABILITY, organization=self.alice.organization
        )
        availability.claim(credit, user=self.alice)
        availability.grant(credit, actor=self.sam, note="Outage confirmed by the incident log.")


MAIL_REPLY = """From: Alice Green <alice@retail.demo.example>
To: premier@eservice.localhost
Subject: Re: [{ref}] {subject}
Message-ID: <replay-lag-reply-1@retail.demo.example>
Content-Type: text/plain; charset=utf-8

Thanks, it is still lagging this morning: about ten minutes on the checkout funnel.

Alice
"""

MAIL_SUBJECT = "Weekly export did not arrive"
MAIL_NEW = f"""From: Dana Ortiz <dana@travel.demo.example>
To: support@eservice.localhost
Subject: {MAIL_SUBJECT}
Message-ID: <weekly-export-1@travel.demo.example>
Content-Type: text/plain; charset=utf-8

Hello,

our weekly CSV export of the zoning report did not arrive this Monday.

Dana
"""
