"""Verbs that change tickets. Portal, API, admin, mail intake, tasks and commands all call these.

changes: what a verb did and how it is recorded; opening, comments, lifecycle: the verbs.
"""

# ServiceError: what every verb raises on bad input (callers catch it from here).
from core.errors import ServiceError

from .changes import LOCK_JOINS, TicketChange, check_past, lock, record, save_change
from .comments import add_comment, add_comments, add_system_note, add_system_notes
from .lifecycle import (
    TRANSITIONS,
    assign,
    reopen,
    resolve,
    set_exclusion,
    set_status,
    start_diagnosis,
    triage,
    update_details,
)
from .opening import add_attachment, check_reporter, find_reporter, open_ticket, open_tickets

__all__ = [
    "LOCK_JOINS",
    "TRANSITIONS",
    "ServiceError",
    "TicketChange",
    "add_attachment",
    "add_comment",
    "add_comments",
    "add_system_note",
    "add_system_notes",
    "assign",
    "check_past",
    "check_reporter",
    "find_reporter",
    "lock",
    "open_ticket",
    "open_tickets",
    "record",
    "reopen",
    "resolve",
    "save_change",
    "set_exclusion",
    "set_status",
    "start_diagnosis",
    "triage",
    "update_details",
]
