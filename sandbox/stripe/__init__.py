"""A local emulator of the parts of Stripe's API that Consultio uses.

Nothing outside ``sandbox/`` knows about it: the product talks to it with the
real ``stripe`` library, through configuration alone. Scripts and browser tests
drive it through a few helpers of its own (see ``views``): finishing onboarding,
paying a Checkout Session with a test card, and the test clock —
``POST /sandbox/stripe/clock`` ``{"advance_seconds": N}`` moves the emulator's
"now" (``store.now()``) forward, ``DELETE`` puts it back, ``GET`` reads it."""
