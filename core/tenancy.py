"""The one tenancy guard for rows that belong to an organization."""

from typing import Any, Self, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class OrganizationScopedQuerySet(models.QuerySet[_M]):
    """visible_to(user): staff see every row, a client its organization's, anyone else none.

    organization_field names the path from the row to its organization; for_clients() narrows
    further what a client may read of its own organization's rows (internal notes, warnings).
    """

    organization_field = "organization"

    def visible_to(self, user: Any) -> Self:
        if not user or not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        if user.organization_id is None:
            return self.none()
        return self.filter(**{f"{self.organization_field}_id": user.organization_id}).for_clients()

    def for_clients(self) -> Self:
        return self
