"""Local emulator of the Microsoft identity platform (OAuth 2 authorization code flow with PKCE) and of
the Microsoft Graph v1.0 calendar API (calendars, events, calendarView delta, subscriptions and change
notifications), mounted at ``/sandbox/microsoft/`` on the platform host when MICROSOFT_EMULATED.

Modules: ``oauth`` (authorize and token endpoints), ``api`` (Graph), ``delta`` (calendarView and its
delta links), ``subscriptions`` (Graph subscriptions), ``store`` (storage, change tracking,
notifications, helpers for scripts), ``events`` and ``recurrence`` (Graph's event shape), ``errors``
(Graph's and the identity platform's error bodies), ``dev`` (the JSON helpers under ``dev/``)."""
