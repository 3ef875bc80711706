"""REST API for tickets, comments and attachments (routes in portal.api_urls)."""
