"""Which escalation rules are due for a ticket, and when the next one can fire.

The arithmetic here is pure: it takes a ticket's running target (sla.targets.SlaTarget) and
the plan's rules and returns moments; nothing writes. The sweep (escalation.sweep) and the
ticket_changing receiver (escalation.receivers) both decide with these functions, so they
cannot disagree.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sla.targets import SlaTarget, current_target
from tickets.models import Ticket

from .models import ACTION_LEVEL, Action, EscalationRule, Level

# A plan's rules are read on every ticket change and every sweep batch: keep them in process.
# Saving or deleting a rule clears this process's cache (signals in escalation.apps); other
# processes (worker, beat) pick the change up within RULE_CACHE_SECONDS.
RULE_CACHE_SECONDS = 60


@dataclass(frozen=True, order=True)
class Rule:
    percent: int
    level: Level

    @property
    def fraction(self) -> float:
        return self.percent / 100


# A plan's rules by priority (None: the plan's general rules).
PlanRules = dict[str | None, tuple[Rule, ...]]
_cache: dict[int, tuple[float, PlanRules]] = {}
_cache_lock = threading.Lock()
# (ticket, phase) -> whether the phase's warning was already sent.
WarnedLookup = Callable[[Ticket, str], bool]


@dataclass
class Decision:
    """What the sweep must do for one ticket at `now`."""

    target: SlaTarget | None
    fire: list[Rule] = field(default_factory=list)  # in order, warnings first
    breach: bool = False  # the current target's deadline has passed and is not recorded yet
    next_check_at: datetime.datetime | None = None


# --- rules of a plan --------------------------------------------------------------------------


def clear_cache(*args: object, **kwargs: object) -> None:
    with _cache_lock:
        _cache.clear()


def _load_plan_rules(plan_id: int) -> PlanRules:
    by_priority: dict[str | None, list[Rule]] = {}
    for priority, percent, action in EscalationRule.objects.filter(plan_id=plan_id).values_list(
        "priority", "percent", "action"
    ):
        by_priority.setdefault(priority, []).append(Rule(percent, ACTION_LEVEL[Action(action)]))
    return {key: tuple(sorted(rules)) for key, rules in by_priority.items()}


def rules_for(plan_id: int | None, priority: str) -> tuple[Rule, ...]:
    """The plan's rules for a priority: its own if it has any, else the plan's general ones."""
    if plan_id is None:
        return ()
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(plan_id)
    if cached is None or now - cached[0] > RULE_CACHE_SECONDS:
        cached = (now, _load_plan_rules(plan_id))
        with _cache_lock:
            _cache[plan_id] = cached
    rules = cached[1]
    return rules.get(priority) or rules.get(None) or ()


def ticket_rules(ticket: Ticket) -> tuple[Rule, ...]:
    """The rules of the ticket's plan for its priority (none without a contract)."""
    contract = getattr(ticket.organization, "contract", None)
    return rules_for(contract.plan_id if contract else None, ticket.priority)


def breach_recorded(ticket: Ticket, phase: str) -> bool:
    return getattr(ticket, f"{phase}_breached_at") is not None


# --- decisions ------------------------------------------------------------------------------


def pending(rules: Iterable[Rule], *, level: int, warned: bool) -> list[Rule]:
    """Rules that can still fire: levels above the ticket's, and one warning per phase."""
    out, warning_seen = [], warned
    for rule in sorted(rules):
        if rule.level == Level.WARNING:
            if not warning_seen:
                out.append(rule)
                warning_seen = True
        elif rule.level > level:
            out.append(rule)
    return out


def _timed(
    target: SlaTarget, rules: Iterable[Rule], now: datetime.datetime
) -> list[tuple[datetime.datetime, Rule]]:
    """Each rule with the moment it is due; a warning is dropped once the deadline passed."""
    overdue = target.due <= now
    return [
        (target.moment(rule.fraction), rule)
        for rule in rules
        if not (rule.level == Level.WARNING and overdue)
    ]


def decide(
    target: SlaTarget | None,
    rules: Iterable[Rule],
    *,
    level: int,
    warned: bool,
    breach_recorded: bool,
    now: datetime.datetime,
) -> Decision:
    """What is due at `now` and the next moment anything can happen.

    A warning is only worth sending before the deadline: once the target has run out, the
    breach and level 1 say more. So a late sweep that finds a ticket at 210% fires levels 1,
    2 and 3 in order and no warning; at 80% it sends the warning.
    """
    if target is None:
        return Decision(None)
    overdue = target.due <= now
    timed = _timed(target, pending(rules, level=level, warned=warned), now)
    fire = sorted((pair for pair in timed if pair[0] <= now), key=lambda p: (p[1].level, p[0]))
    later = [moment for moment, _ in timed if moment > now]
    if not breach_recorded and not overdue:
        later.append(target.due)
    return Decision(
        target,
        fire=[rule for _, rule in fire],
        breach=overdue and not breach_recorded,
        next_check_at=min(later, default=None),
    )


def earliest(
    target: SlaTarget,
    rules: Iterable[Rule],
    *,
    level: int,
    warned: bool,
    breach_recorded: bool,
    now: datetime.datetime,
) -> datetime.datetime | None:
    """The earliest moment a pending rule (or the unrecorded breach) is due; may be past."""
    moments = [
        moment for moment, _ in _timed(target, pending(rules, level=level, warned=warned), now)
    ]
    if not breach_recorded:
        moments.append(target.due)
    return min(moments, default=None)


def next_check_at(
    ticket: Ticket, *, now: datetime.datetime, warned_lookup: WarnedLookup | None = None
) -> datetime.datetime | None:
    """The ticket_changing receiver's answer: the earliest moment a pending rule can fire.

    `warned_lookup(ticket, phase) -> bool` is called (one query) only when an unsent warning
    would be the earliest thing to happen; a new ticket has been warned of nothing.
    """
    target = current_target(ticket)
    if target is None:
        return None
    rules = ticket_rules(ticket)
    recorded = breach_recorded(ticket, target.phase)
    level = ticket.escalation_level
    soonest = earliest(target, rules, level=level, warned=False, breach_recorded=recorded, now=now)
    if soonest is not None and _warned_first(ticket, target, rules, soonest, warned_lookup):
        return earliest(target, rules, level=level, warned=True, breach_recorded=recorded, now=now)
    return soonest


def _warned_first(
    ticket: Ticket,
    target: SlaTarget,
    rules: Iterable[Rule],
    soonest: datetime.datetime,
    warned_lookup: WarnedLookup | None,
) -> bool:
    """The soonest moment is the phase's warning, and that warning was already sent."""
    warning = next((r for r in rules if r.level == Level.WARNING), None)
    if warning is None or ticket.pk is None or warned_lookup is None:
        return False
    return target.moment(warning.fraction) == soonest and warned_lookup(ticket, target.phase)
