"""A few macros in English and French, so the ticket page offers canned replies on day one."""

from django.db import migrations

MACROS = [
    {
        "title": "Acknowledge and investigate",
        "language": "en",
        "body": (
            "Hello {client_name},\n\nThank you for reporting {reference}. We have started "
            "investigating and will keep you posted here.\n\nBest regards,\n{agent_name}"
        ),
        "set_status": "open",
        "assign_to_me": True,
        "position": 10,
    },
    {
        "title": "Ask for a HAR capture",
        "language": "en",
        "body": (
            "Hello {client_name},\n\nTo go further on {reference}, could you send us a HAR "
            "capture of the page (Chrome DevTools → Network → Save all as HAR)?\n\n"
            "Best regards,\n{agent_name}"
        ),
        "set_status": "pending",
        "position": 20,
    },
    {
        "title": "Accuser réception",
        "language": "fr",
        "body": (
            "Bonjour {client_name},\n\nMerci pour votre signalement {reference}. Nous avons "
            "commencé l’analyse et vous tiendrons informé ici.\n\nCordialement,\n{agent_name}"
        ),
        "set_status": "open",
        "assign_to_me": True,
        "position": 10,
    },
    {
        "title": "Demander une capture HAR",
        "language": "fr",
        "body": (
            "Bonjour {client_name},\n\nPour avancer sur {reference}, pourriez-vous nous envoyer "
            "une capture HAR de la page (Chrome DevTools → Réseau → Enregistrer au format "
            "HAR) ?\n\nCordialement,\n{agent_name}"
        ),
        "set_status": "pending",
        "position": 20,
    },
]


def seed_macros(apps, schema_editor):
    Macro = apps.get_model("tickets", "Macro")
    for spec in MACROS:
        Macro.objects.get_or_create(
            title=spec["title"], language=spec["language"], defaults=spec
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_desk_verbose_names")]

    operations = [migrations.RunPython(seed_macros, migrations.RunPython.noop)]
