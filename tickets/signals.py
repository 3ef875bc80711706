from django.dispatch import Signal

# Sent with a TicketChange before the ticket is saved. The sla app recomputes deadlines on
# the instance and appends its timeline events, so tickets never imports sla.
ticket_changing = Signal()
