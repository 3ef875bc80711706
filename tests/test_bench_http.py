"""The HTTP benchmark's load generator: its arithmetic, its mix, and its actions against a
live server (real sessions, CSRF, the product's pages). No timing is asserted."""

import asyncio
import random
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_http  # noqa: E402 - benchmarks/ is not a package
import httpload  # noqa: E402

from tests.factories import ClientFactory, StaffFactory, TicketFactory  # noqa: E402

PASSWORD = "pw-Secret-123"  # tests.factories.UserFactory's


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(100, 0, -1)]
    assert httpload.percentile(values, 50) == 50
    assert httpload.percentile(values, 95) == 95
    assert httpload.percentile(values, 99) == 99
    assert httpload.percentile(values, 100) == 100
    assert httpload.percentile([7.0], 99) == 7
    assert httpload.percentile([], 95) == 0


def test_stats_keep_latencies_and_errors_per_page_only_while_recording():
    stats = httpload.Stats()
    stats.recording = False
    stats.ok("client_list", 999.0)
    stats.recording = True
    for ms in (10.0, 20.0, 30.0, 40.0):
        stats.ok("client_list", ms)
    stats.error("api_create", "PageError: POST /api/v1/tickets/ -> 500")
    stats.error("api_create", "a second one")
    rows = stats.rows(seconds=2.0)
    assert rows["client_list"]["count"] == 4
    assert rows["client_list"]["rate"] == 2.0
    assert rows["client_list"]["p50"] == 20 and rows["client_list"]["p99"] == 40
    assert rows["api_create"]["errors"] == 2
    assert rows["api_create"]["first_error"].endswith("-> 500")
    assert stats.total_errors() == 2


def test_a_mix_draws_actions_in_proportion_to_their_weights():
    async def nothing(user):
        return None

    mix = httpload.Mix({"list": (3, nothing), "reply": (1, nothing)})
    rng = random.Random(1)
    picks = [mix.pick(rng)[0] for _ in range(4000)]
    assert 0.72 < picks.count("list") / len(picks) < 0.78
    with pytest.raises(ValueError):
        httpload.Mix({"list": (0, nothing)})


def test_sixteen_users_are_eight_clients_six_staff_and_two_api_clients():
    names = bench_http.personas(16)
    assert [names.count(p) for p in ("client", "staff", "api")] == [8, 6, 2]
    assert len(bench_http.personas(3)) == 3


def test_the_csrf_token_is_read_from_a_form_and_its_absence_is_an_error():
    html = '<input type="hidden" name="csrfmiddlewaretoken" value="abc123">'
    assert httpload.csrf_from(html) == "abc123"
    with pytest.raises(httpload.PageError):
        httpload.csrf_from("<form></form>")


def _run(live_server, persona: str, login, actions) -> httpload.Stats:
    """Sign one virtual user in, run `actions` once each, return what it recorded."""

    async def scenario():
        stats = httpload.Stats()
        user = httpload.VirtualUser(live_server.url, stats, bench_http.MIXES[persona], seed=1)
        try:
            await login(user)
            for action in actions:
                await action(user)
        finally:
            await user.close()
        return stats

    return asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_client_actions_list_open_and_reply_through_the_portal(live_server):
    from tickets.models import Comment

    client = ClientFactory(username="bench-client")
    ticket = TicketFactory(organization=client.organization, reporter=client)

    async def login(user):
        await user.login("/accounts/login/", client.username, PASSWORD)

    actions = [bench_http.client_list, bench_http.client_open, bench_http.client_reply]
    stats = _run(live_server, "client", login, actions)
    rows = stats.rows(seconds=1.0)
    assert stats.total_errors() == 0, rows
    assert rows["client_list"]["count"] == 1
    assert rows["client_open"]["count"] == 2  # a reply opens the ticket first
    assert rows["client_reply"]["count"] == 1
    assert Comment.objects.filter(ticket=ticket, author=client).count() == 1


@pytest.mark.django_db(transaction=True)
def test_staff_actions_use_the_desk_search_ticket_page_and_triage(live_server):
    staff = StaffFactory(username="bench-staff")
    ticket = TicketFactory(priority="P3")

    async def login(user):
        await user.login("/admin/login/", staff.username, PASSWORD, {"next": "/admin/"})

    actions = [
        bench_http.staff_desk,
        bench_http.staff_search,
        bench_http.staff_ticket,
        bench_http.staff_triage,
    ]
    stats = _run(live_server, "staff", login, actions)
    rows = stats.rows(seconds=1.0)
    assert stats.total_errors() == 0, rows
    assert set(rows) == {"staff_desk", "staff_search", "staff_ticket", "staff_triage"}
    ticket.refresh_from_db()
    assert ticket.priority in ("P1", "P2")


@pytest.mark.django_db(transaction=True)
def test_an_api_client_creates_tickets_with_its_token(live_server):
    from tickets.models import Ticket

    client = ClientFactory(username="bench-api")

    async def login(user):
        body = {"username": client.username, "password": PASSWORD}
        response = await user.call("POST", "/api/v1/auth/token/", json=body)
        user.known["token"] = response.json()["token"]

    stats = _run(live_server, "api", login, [bench_http.api_create, bench_http.api_create])
    assert stats.total_errors() == 0
    assert stats.rows(seconds=1.0)["api_create"]["count"] == 2
    assert Ticket.objects.filter(reporter=client).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_wrong_answer_is_counted_as_an_error_not_a_latency(live_server):
    async def login(user):
        return None  # not signed in: the portal redirects to the login page

    stats = _run(live_server, "client", login, [bench_http.client_list])
    rows = stats.rows(seconds=1.0)
    assert rows["client_list"]["count"] == 0
    assert rows["client_list"]["errors"] == 1
    assert "302" in rows["client_list"]["first_error"]


@pytest.mark.django_db(transaction=True)
def test_the_loop_runs_every_user_until_the_deadline_and_reports_its_own_cpu(live_server):
    client = ClientFactory(username="bench-loop")
    TicketFactory(organization=client.organization, reporter=client)

    async def scenario():
        stats = httpload.Stats()
        users = [
            httpload.VirtualUser(live_server.url, stats, bench_http.MIXES["client"], seed=n)
            for n in range(2)
        ]
        for user in users:
            await user.login("/accounts/login/", client.username, PASSWORD)
        try:
            return stats, await httpload.run_users(users, seconds=0.3, warmup=0.1)
        finally:
            for user in users:
                await user.close()

    stats, run = asyncio.run(scenario())
    assert stats.total_errors() == 0
    assert run["seconds"] >= 0.3 and run["cpu_seconds"] >= 0
    assert sum(row["count"] for row in stats.rows(run["seconds"]).values()) >= 2


def test_a_get_is_sent_again_once_when_the_server_drops_the_connection():
    """As a browser does when a kept-alive connection closes under it; a POST is not."""
    seen = []

    async def handle(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        seen.append(1)
        if len(seen) % 2:  # every other request: hang up without an answer
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def scenario():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stats = httpload.Stats()
        user = httpload.VirtualUser(f"http://127.0.0.1:{port}", stats, None, seed=1)
        try:
            response = await user.call("GET", "/")
            with pytest.raises(httpx.RemoteProtocolError):
                await user.call("POST", "/", data={"body": "once"})
        finally:
            await user.close()
            server.close()
        return response, stats

    response, stats = asyncio.run(scenario())
    assert response.text == "ok"
    assert stats.retries == 1
    assert len(seen) == 3


@pytest.mark.django_db(transaction=True)
def test_capacity_loads_each_page_type_on_its_own_with_the_users_of_its_persona(live_server):
    client = ClientFactory(username="bench-capacity")
    TicketFactory(organization=client.organization, reporter=client)

    async def scenario():
        users = [
            httpload.VirtualUser(live_server.url, httpload.Stats(), None, seed=n) for n in range(2)
        ]
        for user in users:
            await user.login("/accounts/login/", client.username, PASSWORD)
            await bench_http.client_list(user)  # what the first page showed: a reference
        try:
            pages = ["client_list", "client_open", "staff_desk"]  # no staff user signed in
            return await httpload.run_capacity(
                {"client": users}, bench_http.ACTIONS, pages, seconds=0.3
            )
        finally:
            for user in users:
                await user.close()

    rows = asyncio.run(scenario())
    assert set(rows) == {"client_list", "client_open"}
    for row in rows.values():
        assert row["errors"] == 0 and row["count"] >= 2
        assert row["seconds"] >= 0.3 and row["rate"] == row["count"] / row["seconds"]
