"""What booking tells the rest of the product, sent after the change commits.
Billing (refunds) and notifications connect their receivers here."""

from django.dispatch import Signal

# sender: Call; kwargs: participant
booking_confirmed = Signal()
# sender: Call; kwargs: participant (None when the whole call is canceled), by, reason
booking_canceled = Signal()
# sender: Call; kwargs: old_start, old_end
call_rescheduled = Signal()
# Sent inside the cancel's own transaction, so receivers record follow-up work
# (a refund, an email) atomically with it. sender: Call; kwargs: participant, by, now
participant_canceled = Signal()
