"""Errors the services raise; every entry point (API, portal, admin, mail) maps them alike."""


class ServiceError(Exception):
    """A request the rules refuse. `field` names the input at fault, when there is one."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict:
        return {self.field or "detail": [self.message] if self.field else self.message}


class Conflict(ServiceError):
    """The request is valid but the ticket's state forbids it (e.g. escalation above level 3)."""

    status_code = 409


class Forbidden(ServiceError):
    """The caller may not do this (e.g. a staff member who is not a superuser making staff)."""

    status_code = 403
