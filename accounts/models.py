from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class Region(models.TextChoices):
    GMT = "GMT", "GMT (London)"
    US_EST = "US-EST", "US EST (New York)"
    US_PST = "US-PST", "US PST (Los Angeles)"


# The address that takes mail for any plan: `support@` for everyone (spec 5).
GENERAL_INTAKE = "support"


def intake_plan_slug(local_part: str) -> str:
    """The plan whose queue an intake address feeds ('' when the address is not an intake).

    settings.INTAKE_ADDRESSES is the one source: routing reads it, and so does Reply-To.
    """
    intake = {local.lower(): slug for local, slug in settings.INTAKE_ADDRESSES.items()}
    return intake.get(local_part.lower(), "")


class Plan(models.Model):
    """A support plan. Its targets and escalation rules live in the sla app, as data."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=80)
    pause_when_pending = models.BooleanField(
        default=False,
        help_text=_("Pause the resolution clock while a ticket waits for the customer."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def intake_local_part(self) -> str:
        """The plan's own intake address (settings.INTAKE_ADDRESSES), else the general one."""
        for local, slug in settings.INTAKE_ADDRESSES.items():
            if slug == self.slug:
                return local.lower()
        return GENERAL_INTAKE


def normalise_domains(domains) -> list[str]:
    return sorted({d.strip().lower().lstrip("@") for d in domains or [] if d and d.strip()})


def domains_taken(domains, exclude=None) -> list[str]:
    """Domains another organization already claims: mail routing by domain needs one owner."""
    taken = set()
    for domain in domains:
        others = Organization.objects.filter(email_domains__icontains=domain).exclude(pk=exclude)
        taken |= {domain for org in others if domain in org.email_domains}
    return sorted(taken)


def domains_taken_message(taken) -> str:
    return _("Already the email domain of another organization: %s.") % ", ".join(taken)


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    email_domains = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=8, default="en", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if not isinstance(self.email_domains, list):
            raise ValidationError({"email_domains": _("A list of domains is expected.")})
        self.email_domains = normalise_domains(self.email_domains)
        taken = domains_taken(self.email_domains, exclude=self.pk)
        if taken:
            raise ValidationError({"email_domains": domains_taken_message(taken)})

    @property
    def region(self):
        contract = getattr(self, "contract", None)
        return contract.region if contract else None


class Contract(models.Model):
    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="contract"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="contracts")
    region = models.CharField(max_length=8, choices=Region.choices, default=Region.GMT)
    start_date = models.DateField()
    end_date = models.DateField()
    support_manager = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_contracts",
        verbose_name=_("Customer Support Manager"),
        limit_choices_to={"is_staff": True},
    )
    account_manager = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="account_contracts",
        verbose_name=_("Customer Account Manager"),
        limit_choices_to={"is_staff": True},
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")),
                name="contract_end_after_start",
            )
        ]

    def __str__(self):
        return f"{self.organization} — {self.plan} ({self.region})"


class User(AbstractUser):
    """A client (belongs to one organization) or a staff member (is_staff, no organization)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    is_org_admin = models.BooleanField(default=False)
    language = models.CharField(max_length=8, blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        indexes = [
            # Read by the mail intake, which finds senders with email__iexact.
            models.Index(Upper("email"), name="user_email_upper_idx"),
        ]

    @property
    def role(self) -> str:
        return "staff" if self.is_staff else "client"

    def save(self, *args, **kwargs):
        # A new password (portal, admin, reset, API, shell) ends every API token (spec 8):
        # set_password() leaves the raw password in _password until the save.
        changed = self._password is not None and self.pk is not None
        super().save(*args, **kwargs)
        if changed:
            ApiToken.objects.filter(user=self).delete()

    def clean(self):
        super().clean()
        if not self.is_staff and not self.is_superuser and self.organization_id is None:
            raise ValidationError({"organization": _("A client belongs to an organization.")})


class ApiToken(models.Model):
    """An API key, stored as the sha256 of the key: the key itself is shown once, at creation
    (accounts.tokens.issue), and a copy of this table gives nobody a way in."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        indexes = [
            # Read by accounts.tokens.issue, which clears a user's expired tokens.
            models.Index(fields=["user", "expires_at"], name="apitoken_user_expiry_idx"),
        ]

    def __str__(self):
        return _("API token of %(user)s, created %(at)s") % {
            "user": self.user_id,
            "at": f"{self.created_at:%Y-%m-%d %H:%M}",
        }
