import datetime

from django.db import migrations

# The contract's weekly maintenance windows: Saturday and Sunday 08:00–16:00 at UTC+2,
# a fixed offset all year round (06:00–14:00 UTC).
WINDOWS = [(5, datetime.time(8), datetime.time(16), 120), (6, datetime.time(8), datetime.time(16), 120)]


def seed(apps, schema_editor):
    MaintenanceWindow = apps.get_model("availability", "MaintenanceWindow")
    for weekday, start, end, offset in WINDOWS:
        MaintenanceWindow.objects.get_or_create(
            weekday=weekday,
            start_time=start,
            end_time=end,
            utc_offset_minutes=offset,
            defaults={"active": True},
        )


def unseed(apps, schema_editor):
    MaintenanceWindow = apps.get_model("availability", "MaintenanceWindow")
    for weekday, start, end, offset in WINDOWS:
        MaintenanceWindow.objects.filter(
            weekday=weekday, start_time=start, end_time=end, utc_offset_minutes=offset
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("availability", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
