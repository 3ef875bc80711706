"""Settings come from the environment (django-environ); every default runs without a server.

One module per concern; this package is what DJANGO_SETTINGS_MODULE=portal.settings loads.
"""

from .api import *  # noqa: F403
from .base import *  # noqa: F403
from .mail import *  # noqa: F403
from .tasks import *  # noqa: F403
