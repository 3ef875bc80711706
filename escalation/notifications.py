"""Escalation notices: one mail per language to the level's contact and the assignee.

Recorded as OutboundMessages (kind "escalation" or "oncall") through tickets.outbound, so they
thread like every other mail and carry Auto-Submitted: auto-generated.
"""

from django.conf import settings

from tickets.outbound import send_ticket_mail, ticket_subject

TEXTS = {
    "en": {
        "subject_level": "Escalation level {level} ({role}): {subject}",
        "subject_warning": "SLA warning: {subject}",
        "subject_oncall": "P0 outside business hours: {subject}",
        "intro_level": "Ticket {ref} has been escalated to level {level} — {role}.",
        "intro_warning": "Ticket {ref} is close to its {phase} deadline.",
        "intro_oncall": "A critical anomaly (P0) needs the on-call engineer now.",
        "reason": "Why",
        "organization": "Organization",
        "priority": "Priority",
        "response_due": "Response due",
        "resolution_due": "Resolution due",
        "open": "Open the ticket",
        "none": "none",
        "fallback": "No {role} is set for this organization: the support team receives this "
        "notice instead.",
        "phase_response": "response",
        "phase_resolution": "resolution",
    },
    "fr": {
        "subject_level": "Escalade niveau {level} ({role}) : {subject}",
        "subject_warning": "Alerte SLA : {subject}",
        "subject_oncall": "P0 hors heures ouvrées : {subject}",
        "intro_level": "Le ticket {ref} a été escaladé au niveau {level} — {role}.",
        "intro_warning": "Le ticket {ref} approche de son délai de {phase}.",
        "intro_oncall": "Une Anomalie Critique (P0) requiert l'ingénieur d'astreinte "
        "dès maintenant.",
        "reason": "Motif",
        "organization": "Organisation",
        "priority": "Priorité",
        "response_due": "Réponse attendue avant",
        "resolution_due": "Résolution attendue avant",
        "open": "Ouvrir le ticket",
        "none": "aucun",
        "fallback": "Aucun {role} n'est défini pour cette organisation : l'équipe support "
        "reçoit cet avis à sa place.",
        "phase_response": "réponse",
        "phase_resolution": "résolution",
    },
}

ROLE_FR = {
    "Assignee and support team": "Responsable du ticket et équipe support",
    "Customer Support Manager": "Customer Support Manager",
    "Customer Account Manager": "Customer Account Manager",
    "Worldwide Support Director": "WW Support Director",
}


def admin_link(ticket) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/admin/tickets/ticket/{ticket.pk}/change/"


def _when(value, t) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else t["none"]


def known_people(ticket) -> dict:
    """email → user for the people the ticket already loaded (no query)."""
    contract = getattr(ticket.organization, "contract", None)
    people = [
        ticket.assignee,
        getattr(contract, "support_manager", None),
        getattr(contract, "account_manager", None),
    ]
    return {p.email.lower(): p for p in people if p is not None and p.email}


def language_of(email: str, people: dict) -> str:
    user = people.get(email.lower())
    return "fr" if user is not None and (user.language or "").startswith("fr") else "en"


def recipients_of(event) -> list[str]:
    ticket = event.ticket
    to = [event.contact_email]
    if ticket.assignee is not None and ticket.assignee.email:
        to.append(ticket.assignee.email)  # the assignee watches every level
    if event.level == 0:
        to.append(settings.SUPPORT_TEAM_EMAIL)
    seen, out = set(), []
    for address in to:
        if address and address.lower() not in seen:
            seen.add(address.lower())
            out.append(address)
    return out


def render(event, lang: str) -> tuple[str, str]:
    t = TEXTS[lang]
    ticket = event.ticket
    role = ROLE_FR.get(event.role, event.role) if lang == "fr" else event.role
    values = {"ref": ticket.reference, "level": event.level, "role": role}
    values["subject"] = ticket.subject
    values["phase"] = t[f"phase_{event.phase}"]
    if event.level == 0:
        subject, intro = t["subject_warning"], t["intro_warning"]
    else:
        subject, intro = t["subject_level"], t["intro_level"]
    lines = [
        intro.format(**values),
        "",
        f"{ticket.reference} — {ticket.subject}",
        f"{t['organization']}: {ticket.organization.name}",
        f"{t['priority']}: {ticket.priority}",
        f"{t['response_due']}: {_when(ticket.response_due_at, t)}",
        f"{t['resolution_due']}: {_when(ticket.resolution_due_at, t)}",
        f"{t['reason']}: {event.reason}",
    ]
    if event.contact_missing:
        lines += ["", t["fallback"].format(role=role)]
    lines += ["", f"{t['open']}: {admin_link(ticket)}"]
    return ticket_subject(ticket, subject.format(**values)), "\n".join(lines) + "\n"


def send_event_mail(event) -> list[str]:
    """Send the notice of one escalation event; returns who it went to."""
    people = known_people(event.ticket)
    by_lang: dict[str, list[str]] = {}
    recipients = recipients_of(event)
    for address in recipients:
        by_lang.setdefault(language_of(address, people), []).append(address)
    for lang, to in sorted(by_lang.items()):
        subject, body = render(event, lang)
        send_ticket_mail(
            ticket=event.ticket,
            to=to,
            subject=subject,
            body=body,
            kind="escalation",
            auto_submitted="auto-generated",
        )
    return recipients


def send_oncall_mail(ticket, engineer) -> None:
    """Tell the engineer on call (or the support team when nobody is) about an urgent P0."""
    lang = "fr" if engineer is not None and (engineer.language or "").startswith("fr") else "en"
    t = TEXTS[lang]
    to = [engineer.email] if engineer is not None and engineer.email else []
    to = to or [settings.SUPPORT_TEAM_EMAIL]
    lines = [
        t["intro_oncall"],
        "",
        f"{ticket.reference} — {ticket.subject}",
        f"{t['organization']}: {ticket.organization.name}",
        f"{t['priority']}: {ticket.priority}",
        f"{t['response_due']}: {_when(ticket.response_due_at, t)}",
        "",
        f"{t['open']}: {admin_link(ticket)}",
    ]
    send_ticket_mail(
        ticket=ticket,
        to=to,
        subject=ticket_subject(ticket, t["subject_oncall"].format(subject=ticket.subject)),
        body="\n".join(lines) + "\n",
        kind="oncall",
        auto_submitted="auto-generated",
    )
