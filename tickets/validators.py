import mimetypes
from pathlib import PurePath

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from core.errors import ServiceError

MAX_ATTACHMENTS_PER_MESSAGE = 10


def clean_filename(name: str) -> str:
    base = PurePath((name or "").replace("\\", "/")).name.strip().replace("\x00", "")
    return base[:200] or "attachment"


def check_attachment(name: str, size: int, field: str = "attachments") -> str:
    """Refuse what the product does not store; returns the content type it will record."""
    filename = clean_filename(name)
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in settings.ATTACHMENT_ALLOWED_EXTENSIONS:
        raise ServiceError(
            _("“%(name)s”: files of this type are not accepted (allowed: %(allowed)s).")
            % {"name": filename, "allowed": ", ".join(settings.ATTACHMENT_ALLOWED_EXTENSIONS)},
            field=field,
        )
    if size > settings.ATTACHMENT_MAX_BYTES:
        raise ServiceError(
            _("“%(name)s” is %(size)s; the limit is %(limit)s.")
            % {
                "name": filename,
                "size": filesizeformat(size),
                "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
            },
            field=field,
        )
    if size == 0:
        raise ServiceError(_("“%s” is empty.") % filename, field=field)
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def check_attachments(files, field: str = "attachments") -> None:
    if len(files) > MAX_ATTACHMENTS_PER_MESSAGE:
        raise ServiceError(
            _("At most %d files per message.") % MAX_ATTACHMENTS_PER_MESSAGE, field=field
        )
    for f in files:
        check_attachment(f.name, f.size, field)
