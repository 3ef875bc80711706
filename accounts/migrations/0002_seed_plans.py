from django.db import migrations

PLANS = [
    {"slug": "platinum", "name": "Platinum", "intake_local_part": "premier"},
    {"slug": "standard", "name": "Standard", "intake_local_part": "support"},
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    # Re-run on the current models too (the test suite re-seeds after a flush), where the
    # plan's intake address is no longer a column (0005): write only the fields there are.
    fields = {f.name for f in Plan._meta.get_fields()}
    for plan in PLANS:
        values = {k: v for k, v in plan.items() if k in fields}
        Plan.objects.update_or_create(slug=plan["slug"], defaults=values)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
