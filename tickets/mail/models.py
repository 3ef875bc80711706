# Inbound mail models.
