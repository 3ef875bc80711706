"""Acceptance: the specification's outside interfaces (section 6), driven over real HTTP.

Every request goes through a live server with `requests`; the only in-process calls are the
set-up and the management commands an operator would run. Expected values are worked out by
hand from the contract (section 2-4), never copied from the product's answers. All times are
fixed in the past (the server refuses future ones).

Hand-worked business-time facts used below (Monday-Friday, [09:00, 18:00) local):
- March 2026: London is on GMT (UTC+0) until 29 March; New York is on EDT (UTC-4) from 8 March.
- England: Good Friday 3 April 2026 and Easter Monday 6 April 2026 are holidays.
"""

import datetime
import re
from io import StringIO

import pytest
import requests
from django.core.cache import cache
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)

ROOT_PASSWORD = "Root-pass-2026x"
CLIENT_PASSWORD = "Client-pass-2026x"
OFFSET_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
TICKET_FIELDS = {
    "reference",
    "subject",
    "description",
    "status",
    "priority",
    "suggested_priority",
    "organization",
    "channel",
    "received_at",
    "first_response_at",
    "resolved_at",
    "response_due_at",
    "resolution_due_at",
    "response_breached",
    "resolution_breached",
    "escalation_level",
    "excluded",
}


def at(value: str) -> datetime.datetime:
    """An ISO-8601 time from the API as an aware datetime, for comparing instants."""
    parsed = datetime.datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


class Api:
    def __init__(self, base: str, token: str | None = None):
        self.base = base.rstrip("/") + "/api/v1/"
        self.headers = {"Authorization": f"Token {token}"} if token else {}

    def get(self, path, **kw):
        return requests.get(self.base + path, headers=self.headers, timeout=10, **kw)

    def post(self, path, body=None, *, raw=None):
        if raw is not None:
            headers = {**self.headers, "Content-Type": "application/json"}
            return requests.post(self.base + path, data=raw, headers=headers, timeout=10)
        return requests.post(self.base + path, json=body or {}, headers=self.headers, timeout=10)

    def ok(self, method, path, body=None, status=(200, 201)):
        response = getattr(self, method)(path, body) if method == "post" else self.get(path)
        assert response.status_code in (status if isinstance(status, tuple) else (status,)), (
            method,
            path,
            response.status_code,
            response.text,
        )
        return response.json()


def login(live_server, username, password) -> Api:
    response = requests.post(
        live_server.url + "/api/v1/auth/token/",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return Api(live_server.url, response.json()["token"])


def assert_field_error(response, field, status=400):
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert field in response.json(), response.text


@pytest.fixture
def site(live_server, monkeypatch):
    """Set-up as section 6 says: createsuperuser --noinput from the environment, then a token."""
    cache.clear()  # the token endpoint's throttle counts live in the process-wide cache
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", ROOT_PASSWORD)
    call_command("createsuperuser", "--noinput", verbosity=0)
    return live_server


@pytest.fixture
def root(site):
    return login(site, "root", ROOT_PASSWORD)


def make_org(root, name, region="GMT", plan="platinum", domains=(), **extra):
    body = {"name": name, "region": region, "plan": plan, "email_domains": list(domains)}
    return root.ok("post", "organizations/", {**body, **extra}, status=201)


def make_user(root, site, username, org=None, role="client"):
    body = {
        "username": username,
        "email": f"{username}@users.example",
        "password": CLIENT_PASSWORD,
        "role": role,
    }
    if org is not None:
        body["organization"] = org["id"]
    user = root.ok("post", "users/", body, status=201)
    assert isinstance(user["id"], int)
    return login(site, username, CLIENT_PASSWORD)


def log_call(staff, org, received_at, priority, **extra):
    body = {
        "subject": "Logged call",
        "description": "The client phoned.",
        "priority": priority,
        "organization": org["id"],
        "channel": "phone",
        "received_at": received_at,
        **extra,
    }
    return staff.ok("post", "tickets/", body, status=201)


# -- set-up, accounts, ticket shape -----------------------------------------------------------


def test_token_organizations_users_and_ticket_shape(site, root):
    bad = requests.post(
        site.url + "/api/v1/auth/token/",
        json={"username": "root", "password": "wrong"},
        timeout=10,
    )
    assert 400 <= bad.status_code < 500
    assert requests.get(site.url + "/api/v1/tickets/", timeout=10).status_code in (401, 403)

    org = make_org(root, "Premier", domains=["premier.example"])
    assert isinstance(org["id"], int)
    assert (org["region"], org["plan"]) == ("GMT", "platinum")
    for field, value in (("region", "CET"), ("plan", "gold")):
        body = {"name": "X", "region": "GMT", "plan": "platinum", "email_domains": []}
        assert_field_error(root.post("organizations/", {**body, field: value}), field)

    client = make_user(root, site, "cli", org)
    make_user(root, site, "agent", role="staff")
    assert (
        client.post(
            "organizations/", {"name": "Y", "region": "GMT", "plan": "standard"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "users/", {"username": "z", "email": "z@x.example", "password": CLIENT_PASSWORD}
        ).status_code
        == 403
    )

    # A client files in its own organization; its priority is a suggestion applied until triage.
    ticket = client.ok(
        "post",
        "tickets/",
        {"subject": "Heatmaps empty", "description": "Since 9:00", "priority": "P2"},
    )
    assert TICKET_FIELDS <= set(ticket)
    assert re.fullmatch(r"CS-\d+", ticket["reference"])
    assert ticket["organization"] == org["id"]
    assert (ticket["priority"], ticket["suggested_priority"]) == ("P2", "P2")
    assert ticket["escalation_level"] == 0 and ticket["excluded"] is False
    for name in ("received_at", "response_due_at"):
        assert OFFSET_RE.match(ticket[name]), (name, ticket[name])
    detail = client.ok("get", f"tickets/{ticket['reference']}/")
    assert detail["reference"] == ticket["reference"]
    # A client cannot log a call for another organization, back-date or pick the channel.
    other = make_org(root, "Other")
    assert_field_error(
        client.post("tickets/", {"subject": "s", "description": "d", "organization": other["id"]}),
        "organization",
    )


# -- deadlines --------------------------------------------------------------------------------


def test_platinum_gmt_deadlines_in_business_hours(site, root):
    org = make_org(root, "London Ltd", region="GMT")
    staff = make_user(root, site, "agent", role="staff")

    # P1 on Friday 13 March 2026 16:00 London: 2 h on Friday, 4 h on Monday -> Monday 13:00.
    p1 = log_call(staff, org, "2026-03-13T16:00:00+00:00", "P1")
    assert p1["channel"] == "phone"
    assert at(p1["received_at"]) == utc(2026, 3, 13, 16)
    assert at(p1["response_due_at"]) == utc(2026, 3, 16, 13)
    assert p1["resolution_due_at"] is None  # the resolution clock starts at the first response

    # P0 on Saturday 14 March 10:00: outside business hours -> 2 clock hours.
    p0 = log_call(staff, org, "2026-03-14T10:00:00+00:00", "P0")
    assert at(p0["response_due_at"]) == utc(2026, 3, 14, 12)

    # P1 at 18:00 sharp on Friday is outside hours: Monday 09:00 + 6 h = 15:00.
    closing = log_call(staff, org, "2026-03-13T18:00:00+00:00", "P1")
    assert at(closing["response_due_at"]) == utc(2026, 3, 16, 15)

    # P2 at 10:00 on Tuesday 3 March: 8 h -> 18:00 the same day (closing time, not 09:00 next).
    p2 = log_call(staff, org, "2026-03-03T10:00:00+00:00", "P2")
    assert at(p2["response_due_at"]) == utc(2026, 3, 3, 18)

    # First response Wednesday 4 March 12:00; P2 resolution = 20 business days (180 h):
    # Wednesday 1 April 12:00 London, which is BST by then -> 11:00 UTC.
    started = staff.ok(
        "post", f"tickets/{p2['reference']}/start/", {"at": "2026-03-04T12:00:00+00:00"}
    )
    assert at(started["first_response_at"]) == utc(2026, 3, 4, 12)
    assert at(started["resolution_due_at"]) == utc(2026, 4, 1, 11)
    # A second start changes nothing.
    again = staff.ok(
        "post", f"tickets/{p2['reference']}/start/", {"at": "2026-03-05T12:00:00+00:00"}
    )
    assert at(again["first_response_at"]) == utc(2026, 3, 4, 12)

    # Triage to P1 recomputes both deadlines from the same receipt / first response:
    # response 10:00 + 6 h = 16:00; resolution Wed 4 March 12:00 + 90 h = Wed 18 March 12:00.
    triaged = staff.ok("post", f"tickets/{p2['reference']}/triage/", {"priority": "P1"})
    assert triaged["priority"] == "P1"
    assert triaged["suggested_priority"] == "P2"
    assert at(triaged["response_due_at"]) == utc(2026, 3, 3, 16)
    assert at(triaged["resolution_due_at"]) == utc(2026, 3, 18, 12)

    # P0's resolution target is 48 business hours even though its response was on a Saturday:
    # first response Saturday 11:00 -> Monday 16 March 09:00 + 48 h = Monday 23 March 12:00.
    p0 = staff.ok("post", f"tickets/{p0['reference']}/start/", {"at": "2026-03-14T11:00:00+00:00"})
    assert at(p0["resolution_due_at"]) == utc(2026, 3, 23, 12)

    # English holidays: Thursday 2 April 16:00 BST (15:00 UTC), P1: 2 h on Thursday, then
    # Good Friday and Easter Monday are skipped -> Tuesday 7 April 13:00 BST = 12:00 UTC.
    easter = log_call(staff, org, "2026-04-02T15:00:00+00:00", "P1")
    assert at(easter["response_due_at"]) == utc(2026, 4, 7, 12)

    # P3 has no targets.
    p3 = log_call(staff, org, "2026-03-03T10:00:00+00:00", "P3")
    assert p3["response_due_at"] is None


def test_us_region_uses_new_york_time_and_daylight_saving(site, root):
    org = make_org(root, "Boston Inc", region="US-EST")
    staff = make_user(root, site, "agent", role="staff")
    # Monday 9 March 2026 16:00 EDT (20:00 UTC), P1: 2 h Monday + 4 h Tuesday -> 13:00 EDT.
    ticket = log_call(staff, org, "2026-03-09T20:00:00+00:00", "P1")
    assert at(ticket["response_due_at"]) == utc(2026, 3, 10, 17)


def test_times_must_be_past_and_carry_an_offset(site, root):
    org = make_org(root, "Acme")
    staff = make_user(root, site, "agent", role="staff")
    body = {"subject": "s", "description": "d", "organization": org["id"]}
    for received_at in ("2999-01-01T10:00:00+00:00", "2026-03-03T10:00:00", "yesterday", 12):
        assert_field_error(
            staff.post("tickets/", {**body, "received_at": received_at}), "received_at"
        )
    ticket = log_call(staff, org, "2026-03-03T10:00:00+00:00", "P1")
    ref = ticket["reference"]
    assert_field_error(
        staff.post(f"tickets/{ref}/start/", {"at": "2999-01-01T10:00:00+00:00"}), "at"
    )
    assert_field_error(
        staff.post(f"tickets/{ref}/resolve/", {"at": "2999-01-01T10:00:00+00:00"}), "at"
    )
    assert staff.ok("get", f"tickets/{ref}/")["first_response_at"] is None


# -- tenancy, comments ------------------------------------------------------------------------


def test_other_organizations_tickets_are_404_and_internal_notes_stay_internal(site, root):
    mine, theirs = make_org(root, "Mine"), make_org(root, "Theirs")
    alice, bob = make_user(root, site, "alice", mine), make_user(root, site, "bob", theirs)
    staff = make_user(root, site, "agent", role="staff")
    ref = alice.ok("post", "tickets/", {"subject": "s", "description": "d"})["reference"]

    for method, path, body in (
        ("get", f"tickets/{ref}/", None),
        ("get", f"tickets/{ref}/comments/", None),
        ("post", f"tickets/{ref}/comments/", {"body": "hi"}),
        ("get", f"tickets/{ref}/escalations/", None),
        ("post", f"tickets/{ref}/escalate/", {"reason": "peek"}),
    ):
        response = bob.post(path, body) if method == "post" else bob.get(path)
        assert response.status_code == 404, (path, response.status_code)
    assert bob.ok("get", "tickets/")["count"] == 0
    assert [t["reference"] for t in alice.ok("get", "tickets/")["results"]] == [ref]
    assert staff.ok("get", f"tickets/{ref}/")["reference"] == ref
    for verb in ("start", "resolve"):
        assert alice.post(f"tickets/{ref}/{verb}/", {}).status_code == 403
    assert alice.post(f"tickets/{ref}/triage/", {"priority": "P0"}).status_code == 403

    note = staff.ok("post", f"tickets/{ref}/comments/", {"body": "secret note", "internal": True})
    assert note["internal"] is True
    # An internal note is not a first response.
    assert staff.ok("get", f"tickets/{ref}/")["first_response_at"] is None
    staff.ok("post", f"tickets/{ref}/comments/", {"body": "public reply"})
    assert_field_error(
        alice.post(f"tickets/{ref}/comments/", {"body": "x", "internal": True}), "internal"
    )
    alice.ok("post", f"tickets/{ref}/comments/", {"body": "thanks"})

    seen_by_client = [c["body"] for c in alice.ok("get", f"tickets/{ref}/comments/")]
    assert seen_by_client == ["public reply", "thanks"]
    seen_by_staff = [c["body"] for c in staff.ok("get", f"tickets/{ref}/comments/")]
    assert seen_by_staff == ["secret note", "public reply", "thanks"]
    # The first public staff reply is the first response.
    assert staff.ok("get", f"tickets/{ref}/")["first_response_at"] is not None


# -- escalation -------------------------------------------------------------------------------


def test_requested_escalation_climbs_one_level_at_a_time_then_409(site, root):
    org = make_org(root, "Acme")
    alice = make_user(root, site, "alice", org)
    staff = make_user(root, site, "agent", role="staff")
    ref = alice.ok("post", "tickets/", {"subject": "s", "description": "d"})["reference"]

    assert_field_error(alice.post(f"tickets/{ref}/escalate/", {}), "reason")
    assert_field_error(alice.post(f"tickets/{ref}/escalate/", {"reason": ""}), "reason")
    for level, who in ((1, alice), (2, staff), (3, alice)):
        answer = who.ok("post", f"tickets/{ref}/escalate/", {"reason": f"please {level}"})
        assert answer["level"] == level
    refused = alice.post(f"tickets/{ref}/escalate/", {"reason": "more"})
    assert refused.status_code == 409
    assert alice.ok("get", f"tickets/{ref}/")["escalation_level"] == 3

    history = alice.ok("get", f"tickets/{ref}/escalations/")
    assert [e["level"] for e in history] == [1, 2, 3]
    assert {"level", "role", "reason", "trigger", "fired_at", "contact"} <= set(history[0])
    assert {e["trigger"] for e in history} == {"request"}
    assert [e["reason"] for e in history] == ["please 1", "please 2", "please 3"]
    assert all(OFFSET_RE.match(e["fired_at"]) for e in history)


def test_sla_sweep_fires_each_level_once_at_100_150_200_percent(site, root):
    org = make_org(root, "Acme")
    staff = make_user(root, site, "agent", role="staff")
    # P1 Friday 13 March 16:00: 6 h target. 100% = Monday 13:00, 150% (9 h) = Monday 16:00,
    # 200% (12 h) = Tuesday 17 March 10:00.
    ref = log_call(staff, org, "2026-03-13T16:00:00+00:00", "P1")["reference"]
    late = log_call(staff, org, "2026-03-13T16:00:00+00:00", "P1")["reference"]

    def levels(reference):
        history = staff.ok("get", f"tickets/{reference}/escalations/")
        return [(e["level"], e["trigger"]) for e in history]

    for now, expected in (
        ("2026-03-16T12:59:00+00:00", []),
        ("2026-03-16T13:00:00+00:00", [1]),
        ("2026-03-16T15:59:00+00:00", [1]),
        ("2026-03-16T16:00:00+00:00", [1, 2]),
        ("2026-03-17T09:59:00+00:00", [1, 2]),
        ("2026-03-17T10:00:00+00:00", [1, 2, 3]),
        ("2026-03-18T10:00:00+00:00", [1, 2, 3]),
    ):
        call_command("sla_sweep", "--now", now, verbosity=0)
        assert levels(ref) == [(level, "deadline") for level in expected], now
    assert staff.ok("get", f"tickets/{ref}/")["escalation_level"] == 3
    assert staff.ok("get", f"tickets/{ref}/")["response_breached"] is True
    # The other ticket was swept the same way: each level exactly once, in order.
    assert levels(late) == [(1, "deadline"), (2, "deadline"), (3, "deadline")]
    # A ticket at level 3 refuses a further request.
    assert staff.post(f"tickets/{ref}/escalate/", {"reason": "x"}).status_code == 409


# -- credits ----------------------------------------------------------------------------------


def test_late_resolution_earns_a_credit_per_started_day_claimable_for_30_days(site, root):
    org, other = make_org(root, "Acme"), make_org(root, "Globex")
    alice, bob = make_user(root, site, "alice", org), make_user(root, site, "bob", other)
    staff = make_user(root, site, "agent", role="staff")

    # P1 first response Monday 2 March 10:00 -> resolution due Monday 16 March 10:00 (90 h).
    ref = log_call(staff, org, "2026-03-02T09:30:00+00:00", "P1")["reference"]
    ticket = staff.ok("post", f"tickets/{ref}/start/", {"at": "2026-03-02T10:00:00+00:00"})
    assert at(ticket["resolution_due_at"]) == utc(2026, 3, 16, 10)
    # Resolved 24 h and 1 s late: two started 24-hour periods.
    ticket = staff.ok(
        "post",
        f"tickets/{ref}/resolve/",
        {"at": "2026-03-17T10:00:01+00:00", "resolution": "Fixed the tracker."},
    )
    assert at(ticket["resolved_at"]) == utc(2026, 3, 17, 10, 0, 1)
    assert ticket["resolution_breached"] is True

    # Resolved on time, and a late P3: no credit.
    on_time = log_call(staff, org, "2026-03-02T09:30:00+00:00", "P1")["reference"]
    staff.ok("post", f"tickets/{on_time}/start/", {"at": "2026-03-02T10:00:00+00:00"})
    staff.ok("post", f"tickets/{on_time}/resolve/", {"at": "2026-03-16T10:00:00+00:00"})
    p3 = log_call(staff, org, "2026-03-02T09:30:00+00:00", "P3")["reference"]
    staff.ok("post", f"tickets/{p3}/start/", {"at": "2026-03-02T10:00:00+00:00"})
    staff.ok("post", f"tickets/{p3}/resolve/", {"at": "2026-09-01T10:00:00+00:00"})

    credits = alice.ok("get", "credits/")["results"]
    assert [c["ticket"] for c in credits] == [ref]
    credit = credits[0]
    assert (credit["kind"], credit["days"], credit["month"]) == ("resolution", 2, None)
    assert at(credit["breach_at"]) == utc(2026, 3, 17, 10, 0, 1)
    assert at(credit["claim_deadline"]) == utc(2026, 4, 16, 10, 0, 1)
    # The window closed long ago: an unclaimed credit has expired and cannot be claimed.
    assert credit["status"] == "expired"
    assert alice.post(f"credits/{credit['id']}/claim/").status_code in (400, 409)
    assert alice.ok("get", "credits/")["results"][0]["status"] in ("open", "expired")
    # Another organization neither sees nor claims it.
    assert bob.ok("get", "credits/")["count"] == 0
    assert bob.post(f"credits/{credit['id']}/claim/").status_code == 404

    # A P0 resolved now, months late: breach now, claimable now, once.
    late = log_call(staff, org, "2026-03-02T09:00:00+00:00", "P0")["reference"]
    due = at(
        staff.ok("post", f"tickets/{late}/start/", {"at": "2026-03-02T10:00:00+00:00"})[
            "resolution_due_at"
        ]
    )
    # 48 h from Monday 2 March 10:00 -> Monday 9 March 13:00.
    assert due == utc(2026, 3, 9, 13)
    resolved = at(staff.ok("post", f"tickets/{late}/resolve/", {})["resolved_at"])
    fresh = next(c for c in alice.ok("get", "credits/")["results"] if c["ticket"] == late)
    overdue = resolved - due
    assert fresh["days"] == -(-overdue // datetime.timedelta(days=1))
    assert at(fresh["breach_at"]) == resolved
    assert at(fresh["claim_deadline"]) == resolved + datetime.timedelta(days=30)
    assert fresh["status"] == "open"
    claimed = alice.ok("post", f"credits/{fresh['id']}/claim/")
    assert claimed["status"] == "claimed"
    assert alice.post(f"credits/{fresh['id']}/claim/").status_code == 409


# -- incidents and availability ---------------------------------------------------------------


def test_incidents_and_monthly_availability(site, root):
    org, other = make_org(root, "Acme"), make_org(root, "Globex")
    alice, bob = make_user(root, site, "alice", org), make_user(root, site, "bob", other)
    staff = make_user(root, site, "agent", role="staff")
    outage = {"started_at": "2026-02-10T10:00:00+00:00", "ended_at": "2026-02-10T12:00:00+00:00"}
    assert alice.post("incidents/", {**outage, "summary": "x"}).status_code == 403
    assert_field_error(staff.post("incidents/", outage), "summary")
    assert_field_error(staff.post("incidents/", {"summary": "no start"}), "started_at")
    staff.ok("post", "incidents/", {**outage, "summary": "UI down"}, status=201)
    assert [i["summary"] for i in alice.ok("get", "incidents/")["results"]] == ["UI down"]

    # February 2026: 28 days = 40320 min; 8 weekend maintenance windows (Sat 7/14/21/28,
    # Sun 1/8/15/22) of 8 h = 3840 min excluded; 36480 eligible; 120 min down -> 99.671%.
    figures = alice.ok("get", "availability/?month=2026-02")
    assert set(figures) >= {
        "month",
        "availability_percent",
        "downtime_minutes",
        "eligible_minutes",
        "excluded_minutes",
        "target_percent",
        "credits",
    }
    assert figures["month"] == "2026-02"
    assert figures["eligible_minutes"] == 36480
    assert figures["excluded_minutes"] == 3840
    assert figures["downtime_minutes"] == 120
    assert figures["availability_percent"] == pytest.approx(100 * 36360 / 36480, abs=0.001)
    assert (figures["target_percent"], figures["credits"]) == (99.5, 0)

    # January 2026: 44640 min, 9 weekend windows (Sat 3/10/17/24/31, Sun 4/11/18/25) = 4320.
    # An outage on Saturday 10 January 05:00-15:00 UTC overlaps the 06:00-14:00 window: 120 min.
    staff.ok(
        "post",
        "incidents/",
        {
            "started_at": "2026-01-10T05:00:00Z",
            "ended_at": "2026-01-10T15:00:00Z",
            "summary": "all",
        },
    )
    # 900 min on Wednesday 14 January, restricted to Globex.
    staff.ok(
        "post",
        "incidents/",
        {
            "started_at": "2026-01-14T03:00:00Z",
            "ended_at": "2026-01-14T18:00:00Z",
            "summary": "Globex only",
            "organizations": [other["id"]],
        },
    )
    mine = alice.ok("get", "availability/?month=2026-01")
    assert (mine["eligible_minutes"], mine["excluded_minutes"]) == (40320, 4320)
    assert mine["downtime_minutes"] == 120 and mine["credits"] == 0
    theirs = bob.ok("get", "availability/?month=2026-01")
    assert theirs["downtime_minutes"] == 1020
    # (40320 - 1020) / 40320 = 97.470% -> 2.03 points below 99.5 -> 3 started points.
    assert theirs["availability_percent"] == pytest.approx(97.470, abs=0.001)
    assert theirs["credits"] == 3
    assert "Globex only" not in [i["summary"] for i in alice.ok("get", "incidents/")["results"]]

    for month in ("2026-13", "March", "", "2999-01", "9999-12"):
        assert_field_error(alice.get(f"availability/?month={month}"), "month")


# -- bad input --------------------------------------------------------------------------------


def test_bad_input_is_a_4xx_json_answer_never_a_500(site, root):
    org = make_org(root, "Acme")
    staff = make_user(root, site, "agent", role="staff")
    ref = log_call(staff, org, "2026-03-03T10:00:00+00:00", "P2")["reference"]
    for path in (
        "tickets/",
        "organizations/",
        "users/",
        "incidents/",
        f"tickets/{ref}/comments/",
        f"tickets/{ref}/triage/",
        f"tickets/{ref}/escalate/",
        f"tickets/{ref}/start/",
        f"tickets/{ref}/resolve/",
    ):
        for raw in ("{bad", "[]", "null", '"x"', "5"):
            response = staff.post(path, raw=raw)
            assert 400 <= response.status_code < 500, (path, raw, response.status_code)
            assert response.headers["Content-Type"].startswith("application/json")

    base = {"subject": "s", "description": "d", "organization": org["id"]}
    for field, value in (
        ("subject", {"a": 1}),
        ("priority", "P4"),
        ("priority", "high"),
        ("priority", ["P1"]),
        ("channel", "fax"),
        ("organization", "abc"),
        ("organization", 99999),
        ("received_at", "2026-13-40T00:00:00Z"),
        ("received_at", "0001-01-01T00:00:00Z"),
        ("received_at", "0001-01-01T12:00:00+00:00"),
    ):
        assert_field_error(staff.post("tickets/", {**base, field: value}), field)
    for field in ("subject", "description"):
        body = dict(base)
        del body[field]
        assert_field_error(staff.post("tickets/", body), field)
    assert_field_error(staff.post(f"tickets/{ref}/triage/", {"priority": "P9"}), "priority")
    assert_field_error(staff.post(f"tickets/{ref}/triage/", {}), "priority")
    user = {"username": "u", "email": "u@x.example", "password": CLIENT_PASSWORD}
    assert_field_error(staff.post("users/", {**user, "role": "boss"}), "role")
    assert_field_error(
        staff.post("users/", {**user, "role": "client", "organization": 99999}), "organization"
    )
    assert_field_error(
        staff.post(
            "organizations/",
            {"name": "X", "region": "GMT", "plan": "platinum", "email_domains": "x"},
        ),
        "email_domains",
    )
    assert staff.get("tickets/CS-999999/").status_code == 404


# -- mail intake and demo data ----------------------------------------------------------------


def test_ingest_email_files_a_ticket_for_a_client_domain(site, root, tmp_path):
    org = make_org(root, "Premier", domains=["premier-client.example"])
    staff = make_user(root, site, "agent", role="staff")
    message = tmp_path / "message.eml"
    message.write_bytes(
        b"From: Jane <jane@premier-client.example>\r\n"
        b"To: premier@whatever.example\r\n"
        b"Subject: Heatmaps are empty\r\n"
        b"Message-ID: <acceptance-1@premier-client.example>\r\n"
        b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        b"\r\n"
        b"Our heatmaps show nothing.\r\n"
    )
    for _ in range(2):  # the same message delivered twice makes one ticket
        # Exit status 0: the command returns normally (75 would be a SystemExit).
        call_command(
            "ingest_email", str(message), "--to", "premier@whatever.example", stdout=StringIO()
        )
    tickets = staff.ok("get", "tickets/")["results"]
    assert [(t["subject"], t["channel"], t["organization"]) for t in tickets] == [
        ("Heatmaps are empty", "email", org["id"])
    ]


def test_seed_demo_gives_a_first_look_over_the_api(site):
    cache.clear()
    call_command("seed_demo", stdout=StringIO())
    client = login(site, "alice_gmt", "demo-pass-2026").ok("get", "tickets/")
    assert client["count"] > 0
    tickets = login(site, "sam", "demo-pass-2026").ok("get", "tickets/")
    # Tickets in every state, across the demo organizations.
    assert {t["status"] for t in tickets["results"]} == {
        "new",
        "open",
        "pending",
        "resolved",
        "closed",
    }
    assert {t["priority"] for t in tickets["results"]} <= {"P0", "P1", "P2", "P3"}
    assert all(OFFSET_RE.match(t["received_at"]) for t in tickets["results"])
