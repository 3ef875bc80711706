import datetime
import logging
import re

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _

from core.errors import Forbidden, ServiceError

from .models import (
    Contract,
    Organization,
    Plan,
    Region,
    User,
    domains_taken,
    domains_taken_message,
    normalise_domains,
)

log = logging.getLogger("accounts")


def get_plan(slug: str) -> Plan:
    try:
        return Plan.objects.get(slug=slug)
    except Plan.DoesNotExist:
        raise ServiceError(_("Unknown plan '%s'.") % slug, field="plan") from None


@transaction.atomic
def create_organization(
    *, name, region=Region.GMT, plan="platinum", email_domains=(), start_date=None, end_date=None
) -> Organization:
    if region not in Region.values:
        raise ServiceError(_("Region must be one of %s.") % ", ".join(Region.values), "region")
    if Organization.objects.filter(name__iexact=name).exists():
        raise ServiceError(_("An organization with this name already exists."), field="name")
    plan_obj = plan if isinstance(plan, Plan) else get_plan(plan)
    domains = normalise_domains(email_domains)
    taken = domains_taken(domains)
    if taken:
        raise ServiceError(domains_taken_message(taken), field="email_domains")
    org = Organization.objects.create(name=name, email_domains=domains)
    start = start_date or timezone.localdate()
    Contract.objects.create(
        organization=org,
        plan=plan_obj,
        region=region,
        start_date=start,
        end_date=end_date or start + datetime.timedelta(days=365),
    )
    return org


def create_user(
    *,
    username,
    email,
    password,
    organization=None,
    role="client",
    is_org_admin=False,
    actor=None,
    **extra,
) -> User:
    """actor: who asks (None: the system, e.g. seed_demo). As in the admin, only a superuser
    makes staff accounts."""
    if role not in ("client", "staff"):
        raise ServiceError(_("Role must be 'client' or 'staff'."), field="role")
    if role == "staff" and actor is not None and not actor.is_superuser:
        raise Forbidden(_("Only a superuser can create staff accounts."), field="role")
    if role == "client" and organization is None:
        raise ServiceError(_("A client belongs to an organization."), field="organization")
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(_("This username is taken."), field="username")
    return User.objects.create_user(
        username=username,
        email=email,
        password=password,
        organization=organization if role == "client" else None,
        is_staff=role == "staff",
        is_org_admin=is_org_admin and role == "client",
        **extra,
    )


def organization_for_email(address: str) -> Organization | None:
    """The client organization whose email domains include the address's domain."""
    domain = address.rpartition("@")[2].lower()
    if not domain:
        return None
    for org in Organization.objects.filter(email_domains__icontains=domain):
        if domain in org.email_domains:
            return org
    return None


def create_contact(address: str, name: str, organization: Organization) -> User:
    """A contact for a sender from a client organization's domain: no usable password."""
    base = re.sub(r"[^\w.@+-]", "", address)[:140] or "contact"
    username = base
    while User.objects.filter(username__iexact=username).exists():
        username = f"{base[:130]}-{get_random_string(6).lower()}"
    first, _sep, last = (name or "").partition(" ")
    user = User(username=username, email=address, organization=organization)
    user.first_name, user.last_name = first[:150], last[:150]
    user.set_unusable_password()
    user.save()
    log.info("created contact %s for %s", username, organization)
    return user
