"""One search for the portal, the API and the admin: full text in English and French, public
comments, partial words, references, relevance order, and the vector kept by the database."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from tests.api_fixtures import NOW, api_for, api_test_settings, references  # noqa: F401
from tests.factories import TicketFactory
from tickets import services
from tickets.models import Comment, Ticket

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:tickets_ticket_changelist")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def found(term, queryset=None) -> set:
    return set((queryset or Ticket.objects.all()).search(term).values_list("pk", flat=True))


def file(user, subject, description="Nothing to add.", hours_ago=1):
    received = NOW - datetime.timedelta(hours=hours_ago)
    return services.open_ticket(
        organization=user.organization,
        reporter=user,
        subject=subject,
        description=description,
        received_at=received,
    )


def test_english_words_match_in_any_form(alice):
    ticket = file(alice, "Recordings are missing for mobile visitors")
    file(alice, "Heatmap blank")
    assert found("recording") == {ticket.pk}
    assert found("MISSING recordings") == {ticket.pk}


def test_french_words_match_in_any_form(alice):
    ticket = file(alice, "Problème", "Les enregistrements ne se chargent pas")
    file(alice, "Heatmap blank")
    assert found("enregistrement") == {ticket.pk}


def test_websearch_syntax_quotes_and_exclusions(alice):
    blank = file(alice, "Heatmap blank on checkout")
    slow = file(alice, "Heatmap slow on checkout")
    assert found("heatmap -slow") == {blank.pk}
    assert found('"heatmap slow"') == {slow.pk}


def test_a_partial_word_of_the_subject_matches(alice):
    ticket = file(alice, "Zoning overlay misplaced")
    file(alice, "Login loop")
    assert found("overl") == {ticket.pk}
    assert found("rlay misp") == {ticket.pk}


def test_like_wildcards_in_the_term_are_plain_characters(alice):
    file(alice, "Login loop")
    percent = file(alice, "Conversion at 100% of sessions")
    assert found("0% o") == {percent.pk}
    assert found("%") == set()
    assert found("_") == set()


def test_reference_is_exact_and_digits_also_match_the_number(alice):
    tickets = [file(alice, f"Replay gap {i}") for i in range(3)]
    wanted = tickets[1]
    assert found(wanted.reference) == {wanted.pk}
    assert found(wanted.reference.lower()) == {wanted.pk}
    assert wanted.pk in found(str(wanted.pk))


def test_public_comments_are_searchable_internal_notes_are_not(alice, charlie):
    ticket = file(alice, "Replay blank")
    services.add_comment(ticket, author=charlie, body="The collector dropped frames.")
    services.add_comment(ticket, author=charlie, body="Shard quarantined", internal=True)
    assert found("collector") == {ticket.pk}
    assert found("quarantined") == set()


def test_the_vector_follows_subject_edits_and_comment_changes(alice, charlie):
    ticket = file(alice, "Replay blank")
    services.update_details(ticket, actor=charlie, subject="Funnel export truncated")
    assert found("funnel") == {ticket.pk}
    assert found("replay") == set()
    comment = services.add_comment(ticket, author=charlie, body="Tracked as a latency spike.")
    assert found("latency") == {ticket.pk}
    Comment.objects.filter(pk=comment.pk).update(body="Tracked as a storage fault.")
    assert found("latency") == set()
    assert found("storage") == {ticket.pk}
    Comment.objects.filter(pk=comment.pk).delete()
    assert found("storage") == set()


def test_rows_written_outside_the_services_are_searchable_too(org):
    ticket = TicketFactory(organization=org, subject="Workspace invite bounced")
    Comment.objects.create(ticket=ticket, body="SMTP relay rejected it", created_at=NOW)
    assert found("bounced") == {ticket.pk}
    assert found("relay") == {ticket.pk}


def test_subject_matches_rank_above_older_and_newer_description_matches(alice):
    by_text = file(alice, "Odd behaviour", "the heatmap stays blank", hours_ago=1)
    by_subject = file(alice, "Heatmap blank", "Nothing renders", hours_ago=5)
    ordered = list(Ticket.objects.search("heatmap").values_list("pk", flat=True))
    assert ordered == [by_subject.pk, by_text.pk]


def test_many_matches_keep_newest_first(alice, monkeypatch):
    monkeypatch.setattr("tickets.search.RANK_LIMIT", 2)
    tickets = [file(alice, f"Heatmap {i}", hours_ago=10 - i) for i in range(4)]
    ordered = list(Ticket.objects.search("heatmap").values_list("pk", flat=True))
    assert ordered == [t.pk for t in reversed(tickets)]


def test_the_vector_is_never_loaded_with_the_row(alice):
    ticket = file(alice, "Replay blank")
    loaded = Ticket.objects.get(pk=ticket.pk)
    assert "search_vector" in loaded.get_deferred_fields()
    comment = services.add_comment(ticket, author=alice, body="Still blank")
    assert "search_vector" in Comment.objects.get(pk=comment.pk).ticket.get_deferred_fields()


def test_portal_api_and_admin_find_the_same_tickets(client, alice, bob, charlie):
    mine = file(alice, "Heatmap blank")
    file(alice, "Login loop")
    theirs = file(bob, "Heatmap frozen")
    client.force_login(alice)
    portal = client.get("/", {"q": "heatmap", "filtered": "1"})
    assert {t.pk for t in portal.context["page"].object_list} == {mine.pk}
    assert references(api_for(alice).get("/api/v1/tickets/?search=heatmap")) == {mine.reference}
    staff = references(api_for(charlie).get("/api/v1/tickets/?search=heatmap"))
    assert staff == {mine.reference, theirs.reference}
    client.force_login(charlie)
    admin = client.get(CHANGELIST, {"q": "heatmap"})
    assert {t.pk for t in admin.context["cl"].result_list} == {mine.pk, theirs.pk}


def test_admin_search_also_matches_the_requester(client, alice, bob, charlie):
    file(alice, "Heatmap blank")
    bobs = file(bob, "Login loop")
    client.force_login(charlie)
    response = client.get(CHANGELIST, {"q": bob.username})
    assert {t.pk for t in response.context["cl"].result_list} == {bobs.pk}


def test_search_is_one_indexed_query_shape(alice, django_assert_max_num_queries):
    file(alice, "Heatmap blank")
    qs = Ticket.objects.search("heatmap blank")
    sql = str(qs.query)
    assert "websearch_to_tsquery" in sql and "ILIKE" in sql
    assert connection.vendor == "postgresql"
    with django_assert_max_num_queries(1):
        list(qs)
