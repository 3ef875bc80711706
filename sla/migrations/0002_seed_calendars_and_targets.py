"""Seed the three support regions and the Platinum/Standard targets (minutes; 1 business day = 540)."""

from django.db import migrations

BH = 60  # one business (or clock) hour, in minutes
BD = 9 * BH  # one business day: 9 business hours

CALENDARS = [
    {"region": "GMT", "timezone": "Europe/London", "holiday_country": "GB", "holiday_subdiv": "ENG"},
    {"region": "US-EST", "timezone": "America/New_York", "holiday_country": "US", "holiday_subdiv": ""},
    {"region": "US-PST", "timezone": "America/Los_Angeles", "holiday_country": "US", "holiday_subdiv": ""},
]

# priority: (response, response when received outside business hours (clock), resolution)
TARGETS = {
    # The contract's table (section 2 of the spec).
    "platinum": {
        "P0": (2 * BH, 2 * BH, 48 * BH),
        "P1": (6 * BH, None, 10 * BD),
        "P2": (8 * BH, None, 20 * BD),
        "P3": (None, None, None),
    },
    # Slower targets chosen for Standard; P0 keeps the 24/7 rule with 4 clock hours.
    "standard": {
        "P0": (4 * BH, 4 * BH, 72 * BH),
        "P1": (8 * BH, None, 15 * BD),
        "P2": (16 * BH, None, 30 * BD),
        "P3": (None, None, None),
    },
}


def seed(apps, schema_editor):
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    PlanTarget = apps.get_model("sla", "PlanTarget")
    Plan = apps.get_model("accounts", "Plan")
    for row in CALENDARS:
        BusinessCalendar.objects.update_or_create(region=row["region"], defaults=row)
    for slug, targets in TARGETS.items():
        plan = Plan.objects.filter(slug=slug).first()
        if plan is None:
            continue
        for priority, (response, outside, resolution) in targets.items():
            PlanTarget.objects.update_or_create(
                plan=plan,
                priority=priority,
                defaults={
                    "response_minutes": response,
                    "response_clock": "business",
                    "response_outside_hours_minutes": outside,
                    "response_outside_hours_clock": "clock",
                    "resolution_minutes": resolution,
                    "resolution_clock": "business",
                },
            )


class Migration(migrations.Migration):
    dependencies = [("sla", "0001_initial"), ("accounts", "0002_seed_plans")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
