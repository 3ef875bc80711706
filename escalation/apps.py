import os

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self):
        from portal.celery import register_beat
        from tickets.signals import ticket_changing

        from . import receivers, rules
        from .models import EscalationRule

        # After the sla app's receiver (INSTALLED_APPS order): the deadlines are fresh here.
        ticket_changing.connect(receivers.set_next_check, dispatch_uid="escalation_next_check")
        # On-call pages consume the domain event stream (registered in portal.apps).
        post_save.connect(rules.clear_cache, sender=EscalationRule, dispatch_uid="esc_rules_s")
        post_delete.connect(rules.clear_cache, sender=EscalationRule, dispatch_uid="esc_rules_d")
        # ESCALATION_SWEEP_SECONDS lets the integration test run beat every 2 s.
        seconds = float(os.environ.get("ESCALATION_SWEEP_SECONDS", "60"))
        register_beat("sla-sweep", "escalation.tasks.run_sweep", seconds)
        register_beat("p0-page-digests", "escalation.tasks.send_page_digests", 60)
