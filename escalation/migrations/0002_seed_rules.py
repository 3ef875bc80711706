from django.db import migrations

# The contract's default thresholds, for every plan: a warning at 75% of a target's time,
# level 1 at the breach (100%), level 2 at 150%, level 3 at 200%. Staff edit them in the admin.
DEFAULT_RULES = [(75, "warning"), (100, "level1"), (150, "level2"), (200, "level3")]


def seed_rules(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    EscalationRule = apps.get_model("escalation", "EscalationRule")
    for plan in Plan.objects.filter(slug__in=["platinum", "standard"]):
        for percent, action in DEFAULT_RULES:
            EscalationRule.objects.get_or_create(
                plan=plan, priority=None, percent=percent, defaults={"action": action}
            )


def seed_director(apps, schema_editor):
    Director = apps.get_model("escalation", "Director")
    Director.objects.get_or_create(pk=1, defaults={"name": "Worldwide Support Director"})


class Migration(migrations.Migration):
    dependencies = [
        ("escalation", "0001_initial"),
        ("accounts", "0002_seed_plans"),
    ]
    operations = [
        migrations.RunPython(seed_rules, migrations.RunPython.noop),
        migrations.RunPython(seed_director, migrations.RunPython.noop),
    ]
