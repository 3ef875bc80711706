# Incidents, unavailability periods and service credits.
