from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation"

    def ready(self) -> None:
        from . import rules
        from .models import EscalationRule

        post_save.connect(rules.clear_cache, sender=EscalationRule, dispatch_uid="esc_rules_s")
        post_delete.connect(rules.clear_cache, sender=EscalationRule, dispatch_uid="esc_rules_d")
