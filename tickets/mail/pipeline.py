"""Processing of a stored inbound message: loops out, route, thread, ticket or comment, ack.

process() is what every transport calls after store() for one message: the LMTP listener, the
anymail webhook receiver, the Celery task and the admin's "retry" action. process_many() is its
batch form, for ingest_email with several files, the IMAP poller, the Celery batch task and bulk
imports: the same handling, one transaction per batch instead of one per message.

The parts: routing (what to do with a message), threading (which ticket it answers), actions
(what each route writes), processing (one message), batch (many) and batch_cache (what a
batch remembers between its messages).
"""

from tickets import services  # noqa: F401 - the module whose writes every channel shares

from .actions import ACKS_PER_HOUR
from .batch import BATCH_SIZE, process_many
from .processing import SAVED_FIELDS, process, release_held
from .routing import Intake, RouteKind, local_part
from .threading import SUBJECT_REFERENCE_RE

__all__ = [
    "ACKS_PER_HOUR",
    "BATCH_SIZE",
    "SAVED_FIELDS",
    "SUBJECT_REFERENCE_RE",
    "Intake",
    "RouteKind",
    "local_part",
    "process",
    "process_many",
    "release_held",
]
