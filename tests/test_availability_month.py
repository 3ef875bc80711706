"""Monthly availability per organization, computed by hand (SPEC section 2, Availability).

March 2026 (UTC): 31 days = 44,640 minutes. 2026-03-01 is a Sunday, so the weekend days are
Sundays 1, 8, 15, 22, 29 and Saturdays 7, 14, 21, 28: 9 days. Each maintenance window is
08:00–16:00 at UTC+2 = 06:00–14:00 UTC = 480 minutes, so 9 × 480 = 4,320 minutes are excluded
and 44,640 − 4,320 = 40,320 minutes are eligible. Europe's DST change on 29 March changes
nothing: months are UTC and the windows use a fixed offset.
"""

import datetime

import pytest
import time_machine

from sla.availability import services
from sla.availability.models import (
    ForceMajeurePeriod,
    Incident,
    MaintenanceWindow,
    PlannedInterruption,
)

UTC = datetime.UTC
MARCH = datetime.date(2026, 3, 1)
APRIL = datetime.date(2026, 4, 1)
AFTER_APRIL = datetime.datetime(2026, 5, 2, 12, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def t(*args):
    return datetime.datetime(*args, tzinfo=UTC)


def incident(start, end, *orgs):
    row = Incident.objects.create(started_at=start, ended_at=end, summary="UI down")
    row.organizations.set(orgs)
    return row


def report(org, month=MARCH, now=AFTER_APRIL):
    return services.availability_report(org, month, now)


def test_the_contract_windows_are_seeded_as_data():
    rows = MaintenanceWindow.objects.order_by("weekday")
    assert [(w.weekday, w.start_time, w.end_time, w.utc_offset_minutes) for w in rows] == [
        (5, datetime.time(8), datetime.time(16), 120),
        (6, datetime.time(8), datetime.time(16), 120),
    ]


def test_march_2026_has_40320_eligible_minutes_after_nine_weekend_windows(org):
    body = report(org)
    assert body == {
        "month": "2026-03",
        "availability_percent": 100.0,
        "downtime_minutes": 0.0,
        "eligible_minutes": 40320.0,
        "excluded_minutes": 4320.0,
        "target_percent": 99.5,
        "credits": 0,
    }


def test_an_incident_inside_a_maintenance_window_counts_nothing(org):
    incident(t(2026, 3, 7, 7), t(2026, 3, 7, 9))  # Saturday 07:00–09:00 UTC, window 06–14
    assert report(org)["downtime_minutes"] == 0.0


def test_an_incident_straddling_the_window_edge_counts_only_the_part_outside(org):
    incident(t(2026, 3, 7, 13), t(2026, 3, 7, 15))  # window ends 14:00 UTC → 14:00–15:00
    body = report(org)
    assert body["downtime_minutes"] == 60.0
    # (40320 − 60) / 40320 = 99.85119…% → reported truncated to 3 decimals
    assert body["availability_percent"] == 99.851


def test_an_incident_over_a_month_boundary_is_split_between_the_months(org):
    incident(t(2026, 3, 31, 23), t(2026, 4, 1, 1))  # Tuesday 23:00 → Wednesday 01:00
    assert report(org, MARCH)["downtime_minutes"] == 60.0
    april = report(org, APRIL)
    # April 2026: 30 × 1440 = 43,200 min; weekends 4/5, 11/12, 18/19, 25/26 = 8 × 480 = 3,840
    assert (april["downtime_minutes"], april["eligible_minutes"]) == (60.0, 39360.0)


def test_overlapping_incidents_are_not_counted_twice(org):
    incident(t(2026, 3, 3, 10), t(2026, 3, 3, 11))
    incident(t(2026, 3, 3, 10, 30), t(2026, 3, 3, 12))  # union 10:00–12:00 = 120 min
    assert report(org)["downtime_minutes"] == 120.0


def test_planned_interruption_announced_in_advance_is_excluded(org):
    PlannedInterruption.objects.create(
        start=t(2026, 3, 4, 10),
        end=t(2026, 3, 4, 12),
        summary="Database upgrade",
        announced_at=t(2026, 3, 1, 9),
    )
    incident(t(2026, 3, 4, 10), t(2026, 3, 4, 11))
    body = report(org)
    # 40,320 − 120 planned = 40,200 eligible; the incident falls inside it: no downtime
    assert (body["eligible_minutes"], body["excluded_minutes"]) == (40200.0, 4440.0)
    assert body["downtime_minutes"] == 0.0


def test_planned_interruption_announced_after_it_started_is_not_excluded(org):
    PlannedInterruption.objects.create(
        start=t(2026, 3, 4, 10),
        end=t(2026, 3, 4, 12),
        summary="Emergency upgrade",
        announced_at=t(2026, 3, 4, 10, 30),  # announced_at < start is "in advance"; not here
    )
    incident(t(2026, 3, 4, 10), t(2026, 3, 4, 11))
    body = report(org)
    assert (body["eligible_minutes"], body["downtime_minutes"]) == (40320.0, 60.0)


def test_force_majeure_is_excluded_from_eligible_time_and_downtime(org):
    ForceMajeurePeriod.objects.create(
        start=t(2026, 3, 10, 0), end=t(2026, 3, 10, 6), reason="Data-centre flood"
    )
    incident(t(2026, 3, 10, 5), t(2026, 3, 10, 7))  # 05–06 is force majeure, 06–07 counts
    body = report(org)
    assert (body["eligible_minutes"], body["downtime_minutes"]) == (39960.0, 60.0)


def test_a_restricted_incident_affects_only_its_organizations(org, other_org):
    incident(t(2026, 3, 3, 10), t(2026, 3, 3, 11), other_org)
    assert report(org)["downtime_minutes"] == 0.0
    assert report(other_org)["downtime_minutes"] == 60.0
    assert report(None)["downtime_minutes"] == 0.0  # the global figure: all-org incidents only


def test_a_month_at_exactly_98_2_percent_earns_two_credits(org):
    # 1.8 % of 40,320 min = 725.76 min = 43,545.6 s: Tuesday 10:00:00 → 22:05:45.6
    start = t(2026, 3, 3, 10)
    incident(start, start + datetime.timedelta(seconds=43545, microseconds=600000))
    body = report(org)
    assert body["downtime_minutes"] == 725.76
    assert body["availability_percent"] == 98.2
    assert body["credits"] == 2  # 1.3 points short: two started points


def test_an_ongoing_incident_counts_up_to_now_in_the_current_month(org):
    incident(t(2026, 3, 3, 10), None)
    now = t(2026, 3, 3, 10, 30)
    body = report(org, MARCH, now)
    # The current month runs 1 March 00:00 → 3 March 10:30 = 2 d 10.5 h = 3,510 min; the
    # Sunday 1 March window (480 min) is inside it → 3,030 eligible, 30 down.
    assert (body["eligible_minutes"], body["downtime_minutes"]) == (3030.0, 30.0)


def test_a_future_month_is_refused(org):
    with time_machine.travel(t(2026, 3, 15), tick=False), pytest.raises(Exception) as error:
        services.availability_report(org, APRIL)
    assert error.value.field == "month"
