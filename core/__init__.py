"""Helpers every app shares: service errors, bulk SQL, paging and counts, API plumbing,
rate limits, CSV exports, the read-replica switch and request middleware.

core imports no app of the project; the apps and the project package import it.
"""
