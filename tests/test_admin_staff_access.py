import pytest

pytestmark = pytest.mark.django_db

# Every back-office screen a support agent works with, by admin URL name.
AGENT_SCREENS = [
    "admin:tickets_ticket_changelist",
    "admin:escalation_escalationevent_changelist",
    "admin:escalation_oncallshift_changelist",
    "admin:escalation_escalationrule_changelist",
    "admin:availability_incident_changelist",
    "admin:availability_servicecredit_changelist",
    "admin:mail_inboundmessage_changelist",
    "admin:sla_businesscalendar_changelist",
    "admin:sla_plantarget_changelist",
]


@pytest.mark.parametrize("name", AGENT_SCREENS)
def test_an_agent_without_model_permissions_opens_every_desk_screen(client, charlie, name):
    from django.urls import reverse

    client.force_login(charlie)
    assert client.get(reverse(name)).status_code == 200


def test_the_admin_index_lists_every_app_for_an_agent(client, charlie):
    client.force_login(charlie)
    html = client.get("/admin/").content.decode()
    for label in ("Escalation", "Availability and service credits", "Email intake", "Tickets"):
        assert label in html


def test_a_client_cannot_open_the_desk(client, alice):
    client.force_login(alice)
    response = client.get("/admin/availability/servicecredit/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
