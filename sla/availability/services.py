"""Availability figures and the verbs on incidents and service credits, in one place.

Portal views, the API, admin actions, beat tasks and management commands all call these;
none re-implements a rule. The figures are in `figures.py` (pure arithmetic in
`intervals.py`), the incidents in `incidents.py`, the credits in `credits.py`.
"""

from .credits import (
    CREDIT_PRIORITIES,
    claim,
    close_month,
    expire_credits,
    grant,
    organizations_under_contract,
    refuse,
    sync_resolution_credit,
    ticket_earns_credit,
)
from .figures import (
    availability_history,
    availability_report,
    current_month,
    incident_intervals,
    last_months,
    month_figures,
    next_month,
    open_incidents,
    parse_month,
    previous_month,
    unavailability_intervals,
    upcoming_maintenance,
)
from .incidents import (
    INCIDENT_EARLIEST,
    INCIDENT_FIELDS,
    INCIDENT_MAX_OPEN_DAYS,
    check_incident_times,
    record_incident,
    update_incident,
)

__all__ = [
    "CREDIT_PRIORITIES",
    "INCIDENT_EARLIEST",
    "INCIDENT_FIELDS",
    "INCIDENT_MAX_OPEN_DAYS",
    "availability_history",
    "availability_report",
    "check_incident_times",
    "claim",
    "close_month",
    "current_month",
    "expire_credits",
    "grant",
    "incident_intervals",
    "last_months",
    "month_figures",
    "next_month",
    "open_incidents",
    "organizations_under_contract",
    "parse_month",
    "previous_month",
    "record_incident",
    "refuse",
    "sync_resolution_credit",
    "ticket_earns_credit",
    "unavailability_intervals",
    "update_incident",
    "upcoming_maintenance",
]
