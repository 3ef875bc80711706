import datetime

import factory
from django.utils import timezone

from accounts.models import Contract, Organization, Plan, User
from tickets.models import Comment, Ticket


def plan(slug="platinum") -> Plan:
    return Plan.objects.get(slug=slug)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Org {n}")
    email_domains = factory.LazyAttribute(lambda o: [o.name.lower().replace(" ", "") + ".example"])
    contract = factory.RelatedFactory(
        "tests.factories.ContractFactory", factory_related_name="organization"
    )


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    organization = factory.SubFactory(OrganizationFactory, contract=None)
    plan = factory.LazyFunction(plan)
    region = "GMT"
    start_date = datetime.date(2026, 1, 1)
    end_date = datetime.date(2026, 12, 31)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-Secret-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClientFactory(UserFactory):
    organization = factory.SubFactory(OrganizationFactory)
    email = factory.LazyAttribute(
        lambda u: f"{u.username}@{(u.organization.email_domains or ['example.com'])[0]}"
    )


class StaffFactory(UserFactory):
    is_staff = True
    email = factory.LazyAttribute(lambda u: f"{u.username}@vendor.example")


class SuperuserFactory(StaffFactory):
    is_superuser = True


class TicketFactory(factory.django.DjangoModelFactory):
    """A bare row; use tickets.services.open_ticket when deadlines and events matter."""

    class Meta:
        model = Ticket

    organization = factory.SubFactory(OrganizationFactory)
    reporter = factory.SubFactory(
        ClientFactory, organization=factory.SelfAttribute("..organization")
    )
    subject = factory.Sequence(lambda n: f"Heatmap not loading #{n}")
    description = "The heatmap stays blank on the product page."
    received_at = factory.LazyFunction(timezone.now)


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    ticket = factory.SubFactory(TicketFactory)
    author = factory.SelfAttribute("ticket.reporter")
    body = "Any news?"
    created_at = factory.LazyFunction(timezone.now)
