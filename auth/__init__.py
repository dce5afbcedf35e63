"""API keys and the bearer check every HTTP listener runs (issue 17: the front door).

``KeyStore`` keeps keys hashed in the shared database; ``BearerAuth`` is the ASGI middleware
that turns a request's ``Authorization: Bearer`` key into its principal, or refuses it."""
