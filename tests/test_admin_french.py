"""A French-speaking agent gets the desk and the ticket page in French."""

import pytest
from django.urls import reverse

from tests.factories import StaffFactory
from tickets import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def amelie_client(client):
    client.force_login(StaffFactory(username="amelie", first_name="Amélie", language="fr"))
    return client


@pytest.fixture
def ticket(alice):
    return services.open_ticket(
        organization=alice.organization,
        reporter=alice,
        subject="Carte de chaleur vide",
        description="Rien ne s’affiche.",
        priority="P1",
    )


def test_desk_columns_filters_views_and_actions_are_french(amelie_client, ticket):
    html = amelie_client.get(reverse("admin:tickets_ticket_changelist")).content.decode()
    for text in (
        "Sélectionnez l’objet ticket à changer",
        "Mes tickets ouverts",
        "En attente du client",
        "P0 hors heures ouvrées",
        "Échéance dans moins d’1 h",
        "Sujet",
        "Organisation",
        "Assigné",
        "M’assigner",
        "Par statut",
    ):
        assert text in html, text


def test_ticket_page_is_french(amelie_client, ticket, charlie):
    services.triage(ticket, priority="P0", actor=charlie)
    url = reverse("admin:tickets_ticket_change", args=[ticket.pk])
    html = amelie_client.get(url).content.decode()
    for text in (
        "Conversation",
        "Journal d’audit",
        "a requalifié la priorité",
        "Envoyer et passer en attente du client",
        "Résoudre le ticket",
        "%s est en train d’écrire dans ce ticket.",
        "Raccourcis clavier",
    ):
        assert text in html, text


def test_the_compiled_catalogue_has_the_desk_strings():
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override("fr"):
        assert gettext("Write what you need from the client.") == (
            "Écrivez ce dont vous avez besoin de la part du client."
        )
        assert gettext("Breaching within 1 h") == "Échéance dans moins d’1 h"
