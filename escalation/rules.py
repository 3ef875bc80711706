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
from collections.abc import Iterable
from dataclasses import dataclass, field

from sla.targets import SlaTarget, current_target

from .models import ACTION_LEVEL, EscalationRule, Level

# A plan's rules are read on every ticket change and every sweep batch: keep them in process.
# Saving or deleting a rule clears this process's cache (signals in escalation.apps); other
# processes (worker, beat) pick the change up within RULE_CACHE_SECONDS.
RULE_CACHE_SECONDS = 60
_cache: dict[int, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True, order=True)
class Rule:
    percent: int
    level: Level

    @property
    def fraction(self) -> float:
        return self.percent / 100


@dataclass
class Decision:
    """What the sweep must do for one ticket at `now`."""

    target: SlaTarget | None
    fire: list[Rule] = field(default_factory=list)  # in order, warnings first
    breach: bool = False  # the current target's deadline has passed and is not recorded yet
    next_check_at: datetime.datetime | None = None


# --- rules of a plan --------------------------------------------------------------------------


def clear_cache(*args, **kwargs) -> None:
    with _cache_lock:
        _cache.clear()


def _load_plan_rules(plan_id: int) -> dict:
    by_priority: dict[str | None, list[Rule]] = {}
    for priority, percent, action in EscalationRule.objects.filter(plan_id=plan_id).values_list(
        "priority", "percent", "action"
    ):
        by_priority.setdefault(priority, []).append(Rule(percent, ACTION_LEVEL[action]))
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


# --- the ticket's current target ------------------------------------------------------------


def breach_recorded(ticket, phase: str) -> bool:
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
    due = target.due
    overdue = due <= now
    candidates = pending(rules, level=level, warned=bool(warned))
    fire, later = [], []
    for rule in candidates:
        if rule.level == Level.WARNING and overdue:
            continue  # too late for a warning: see the docstring
        moment = target.moment(rule.fraction)
        (fire if moment <= now else later).append((moment, rule))
    breach = overdue and not breach_recorded
    if not breach_recorded and not overdue:
        later.append((due, None))
    fire.sort(key=lambda pair: (pair[1].level, pair[0]))
    return Decision(
        target,
        fire=[rule for _, rule in fire],
        breach=breach,
        next_check_at=min((moment for moment, _ in later), default=None),
    )


def earliest(
    target: SlaTarget,
    rules: Iterable[Rule],
    *,
    level: int,
    warned: bool,
    breach_recorded: bool,
    now,
) -> datetime.datetime | None:
    """The earliest moment a pending rule (or the unrecorded breach) is due; may be past."""
    moments = [
        target.moment(rule.fraction)
        for rule in pending(rules, level=level, warned=warned)
        if not (rule.level == Level.WARNING and target.due <= now)
    ]
    if not breach_recorded:
        moments.append(target.due)
    return min(moments, default=None)


def next_check_at(ticket, *, now, warned_lookup=None) -> datetime.datetime | None:
    """The ticket_changing receiver's answer: the earliest moment a pending rule can fire.

    `warned_lookup(ticket, phase) -> bool` is called (one query) only when an unsent warning
    would be the earliest thing to happen; a new ticket has been warned of nothing.
    """
    target = current_target(ticket)
    if target is None:
        return None
    contract = getattr(ticket.organization, "contract", None)
    rules = rules_for(contract.plan_id if contract else None, ticket.priority)
    args = {
        "level": ticket.escalation_level,
        "breach_recorded": breach_recorded(ticket, target.phase),
        "now": now,
    }
    soonest = earliest(target, rules, warned=False, **args)
    warning = next((r for r in rules if r.level == Level.WARNING), None)
    if (
        soonest is not None
        and warning is not None
        and ticket.pk is not None
        and warned_lookup is not None
        and target.moment(warning.fraction) == soonest
        and warned_lookup(ticket, target.phase)
    ):
        return earliest(target, rules, warned=True, **args)
    return soonest
