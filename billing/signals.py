"""What billing tells the rest of the product, inside the transaction of the change."""

from django.dispatch import Signal

# sender: Payout; kwargs: payout, requested_by (the owner who asked, or None for Stripe's own)
payout_created = Signal()
# sender: Payment; kwargs: participant, refund — paid, but the booking could not be kept (refunded)
payment_not_kept = Signal()
