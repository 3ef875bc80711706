from django.db import migrations

PLANS = [
    {"slug": "platinum", "name": "Platinum", "intake_local_part": "premier"},
    {"slug": "standard", "name": "Standard", "intake_local_part": "support"},
]


def seed_plans(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(slug=plan["slug"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed_plans, migrations.RunPython.noop)]
