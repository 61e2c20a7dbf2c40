"""A local emulator of Google's OAuth 2 endpoints and of the Calendar API v3, as far as calendar sync uses
them: sign-in with PKCE, tokens and their refresh and revocation, userinfo, the calendar list, events
(with recurring series, incremental sync tokens, pagination) and push channels.

Nothing outside ``sandbox/`` knows about it: the product reaches it through the ``GOOGLE_*`` URLs in
settings. Scripts and tests drive it through ``/sandbox/google/dev/...`` (see ``dev``) or the same
functions in ``store``."""
