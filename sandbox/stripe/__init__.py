"""A local emulator of the parts of Stripe's API that Consultio uses.

Nothing outside ``sandbox/`` knows about it: the product talks to it with the
real ``stripe`` library, through configuration alone."""
