"""What booking tells the rest of the product. Every signal is sent inside the
transaction of the change it reports, so receivers record their follow-up work
(a refund, an email in the outbox, a reminder) atomically with it; work that
talks to the outside world is queued from there to run after commit.

Receivers run in the order their apps are installed: billing before
notifications, so a cancellation email already knows its refund."""

from django.dispatch import Signal

# sender: Call; kwargs: call, participant
booking_confirmed = Signal()
# sender: Call; kwargs: call, participant, by (host|client|system), reason, now
booking_canceled = Signal()
# sender: Call; kwargs: call, old_start, old_end
call_rescheduled = Signal()
