"""Celery entry points; thin wrappers over pipeline, batch, redrive and imap."""

from celery import shared_task

from .batch import drain
from .imap import imap_url, poll
from .pipeline import process, process_many
from .redrive import redrive


@shared_task(name="mail.process_inbound")
def process_inbound(pk: int) -> str:
    return process(pk).status


@shared_task(name="mail.process_inbound_batch")
def process_inbound_batch(pks: list[int]) -> dict:
    """Stored messages processed together (one transaction per batch); status → count."""
    counts: dict[str, int] = {}
    for message in process_many(pks):
        counts[message.status] = counts.get(message.status, 0) + 1
    return counts


@shared_task(name="mail.drain_inbound")
def drain_inbound() -> int:
    """Stored messages in batches, as the intake queued them (tickets.mail.intake)."""
    done, more = drain()
    if more:
        drain_inbound.apply_async(retry=False)
    return done


@shared_task(name="mail.redrive_stored")
def redrive_stored() -> int:
    """Beat, every minute: stored messages whose task was lost (tickets.mail.redrive)."""
    return redrive()


@shared_task(name="mail.poll_imap")
def poll_imap() -> int:
    url = imap_url()
    return poll(url) if url else 0
