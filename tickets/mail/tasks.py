"""Celery entry points; thin wrappers over pipeline and imap."""

from celery import shared_task


@shared_task(name="mail.process_inbound")
def process_inbound(pk: int) -> str:
    from .pipeline import process

    return process(pk).status


@shared_task(name="mail.process_inbound_batch")
def process_inbound_batch(pks: list[int]) -> dict:
    """Stored messages processed together (one transaction per batch); status → count."""
    from .pipeline import process_many

    counts = {}
    for message in process_many(pks):
        counts[message.status] = counts.get(message.status, 0) + 1
    return counts


@shared_task(name="mail.redrive_stored")
def redrive_stored() -> int:
    """Beat, every minute: stored messages whose task was lost (tickets.mail.redrive)."""
    from .redrive import redrive

    return redrive()


@shared_task(name="mail.poll_imap")
def poll_imap() -> int:
    from .imap import imap_url, poll

    url = imap_url()
    return poll(url) if url else 0
