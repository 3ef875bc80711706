"""The client portal's ticket list with unread markers, tab counts and search in replies.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/bench_portal_list.py

Uses a throwaway database on the same server (`eservice_bench_portal`, or --database NAME),
like bench_api.py. One organization gets --tickets tickets with --comments public replies
each (half by staff) and an internal note each; its client has opened every tenth ticket.

It prints, for the first page, the "Waiting for you" tab and a word search: ms per request
(median wall and CPU of this process) and queries per request, through the real portal view;
then the list's SQL alone, now and as the page ran it before this change (subject/description
search, no unread marker, no tab counts), measured in the same run on the same rows.
"""

import datetime
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_api import bench_url, drop_database, ensure_database, measure, setup_django  # noqa: E402


def parse_args():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="eservice_bench_portal")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--comments", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--drop", action="store_true")
    return parser.parse_args()


def load(tickets: int, comments: int):
    """Replace the data: one organization, its client, one agent, tickets and comments."""
    from django.db import connection

    from accounts.models import Organization, User
    from accounts.services import create_organization
    from tickets.models import Comment, Status, Ticket, TicketView

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_ticket RESTART IDENTITY CASCADE")
    org = Organization.objects.filter(name="Bench Portal").first() or create_organization(
        name="Bench Portal", email_domains=[]
    )
    client = User.objects.filter(username="bench-portal-client").first()
    client = client or User.objects.create_user(
        "bench-portal-client", password="bench-Pass-1", organization=org
    )
    agent = User.objects.filter(username="bench-agent").first()
    agent = agent or User.objects.create_user("bench-agent", password="x", is_staff=True)
    now = datetime.datetime.now(datetime.UTC)
    statuses = list(Status.values)
    rows = Ticket.objects.bulk_create(
        Ticket(
            organization=org,
            reporter=client,
            subject=f"Bench ticket {i}",
            description="Heatmap stays blank on the product page.",
            status=statuses[i % len(statuses)],
            received_at=now - datetime.timedelta(minutes=10 * (tickets - i)),
        )
        for i in range(tickets)
    )
    replies = []
    for i, ticket in enumerate(rows):
        for n in range(comments):
            by_staff = n % 2 == 1
            replies.append(
                Comment(
                    ticket=ticket,
                    author=agent if by_staff else client,
                    body=f"Reply {n} about the tracker snippet {i}",
                    created_at=ticket.received_at + datetime.timedelta(minutes=n + 1),
                )
            )
        replies.append(
            Comment(ticket=ticket, author=agent, body="internal", internal=True,
                    created_at=ticket.received_at)
        )  # fmt: skip
    Comment.objects.bulk_create(replies, batch_size=10_000)
    TicketView.objects.bulk_create(
        TicketView(user=client, ticket=t, viewed_at=now) for t in rows[::10]
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tickets_ticket, tickets_comment, tickets_ticketview")
    return client


def sql_ms(client, term: str, repeat: int, *, before: bool) -> float:
    """Median ms of the list's SQL alone (count + first 25 rows; now also the tab counts and
    the unread subqueries). `before`: the page's list before this change, subject and
    description search only."""
    from django.db.models import Q

    from tickets.models import Ticket
    from tickets.views import tab_links

    visible = Ticket.objects.visible_to(client)

    def run():
        tickets = visible.select_related("organization__contract")
        if before:
            if term:
                tickets = tickets.filter(
                    Q(subject__icontains=term) | Q(description__icontains=term)
                )
        else:
            tickets = tickets.with_unread_for(client).search(term)
            tab_links(visible, {}, "all")
        tickets.count()
        rows = list(tickets[:25])
        if not before:
            [t.unread for t in rows]

    run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    args = parse_args()
    url = bench_url(args.database)
    ensure_database(url, args.database)
    setup_django(url)
    from django.test import Client

    started = time.perf_counter()
    user = load(args.tickets, args.comments)
    print(f"loaded {args.tickets} tickets, {args.tickets * (args.comments + 1)} comments "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    browser = Client()
    browser.force_login(user)
    pages = [
        ("first page (open tab)", "/", ""),
        ("waiting-for-you tab", "/?filtered=1&tab=waiting", ""),
        ("search 'snippet 1999' (replies)", "/?filtered=1&tab=all&q=snippet+1999", "snippet 1999"),
    ]
    print(
        f"{'page':<34} {'wall ms':>8} {'cpu ms':>7} {'queries':>7} "
        f"{'SQL ms now':>10} {'SQL ms before':>13} {'ratio':>6}"
    )
    for label, path, term in pages:
        wall, cpu, queries, status = measure(browser, path, args.repeat)
        assert status == 200, (path, status)
        now = sql_ms(user, term, args.repeat, before=False)
        base = sql_ms(user, term, args.repeat, before=True)
        print(
            f"{label:<34} {wall:8.1f} {cpu:7.1f} {queries:7d} "
            f"{now:10.1f} {base:13.1f} {now / base:6.2f}"
        )
    if args.drop:
        drop_database(url, args.database)


if __name__ == "__main__":
    main()
