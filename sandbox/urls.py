from django.urls import path

from sandbox.stripe import views as stripe_views

app_name = "sandbox"

urlpatterns = [
    path("stripe/v1/accounts", stripe_views.accounts, name="stripe_accounts"),
    path("stripe/v1/accounts/<str:account_id>", stripe_views.account_detail, name="stripe_account"),
    path("stripe/v1/account_links", stripe_views.account_links, name="stripe_account_links"),
    path("stripe/v1/checkout/sessions", stripe_views.checkout_sessions, name="stripe_checkout_sessions"),
    path("stripe/v1/checkout/sessions/<str:session_id>", stripe_views.checkout_session_detail,
         name="stripe_checkout_session"),
    path("stripe/v1/checkout/sessions/<str:session_id>/expire", stripe_views.checkout_session_expire,
         name="stripe_checkout_session_expire"),
    path("stripe/v1/payment_intents/<str:intent_id>", stripe_views.payment_intent_detail,
         name="stripe_payment_intent"),
    path("stripe/v1/charges/<str:charge_id>", stripe_views.charge_detail, name="stripe_charge"),
    path("stripe/v1/application_fees/<str:fee_id>", stripe_views.application_fee_detail,
         name="stripe_application_fee"),
    path("stripe/v1/refunds", stripe_views.refunds, name="stripe_refunds"),
    path("stripe/v1/balance", stripe_views.balance, name="stripe_balance"),
    path("stripe/v1/balance_transactions", stripe_views.balance_transactions, name="stripe_balance_transactions"),
    path("stripe/v1/balance_transactions/<str:txn_id>", stripe_views.balance_transaction_detail,
         name="stripe_balance_transaction"),
    path("stripe/v1/payouts", stripe_views.payouts, name="stripe_payouts"),
    path("stripe/v1/transfers", stripe_views.transfers, name="stripe_transfers"),
    path("stripe/v1/transfers/<str:transfer_id>", stripe_views.transfer_detail, name="stripe_transfer"),
    path("stripe/v1/transfers/<str:transfer_id>/reversals", stripe_views.transfer_reversals,
         name="stripe_transfer_reversals"),
    path("stripe/v1/events", stripe_views.events, name="stripe_events"),
    path("stripe/v1/events/<str:event_id>", stripe_views.event_detail, name="stripe_event"),
    path("stripe/clock", stripe_views.clock, name="stripe_clock"),
    path("stripe/checkout/<str:session_id>/", stripe_views.checkout_page, name="stripe_checkout_page"),
    path("stripe/checkout/<str:session_id>/pay", stripe_views.checkout_pay_script, name="stripe_checkout_pay"),
    path("stripe/onboarding/<str:link_id>/", stripe_views.onboarding_page, name="stripe_onboarding_page"),
    path("stripe/accounts/<str:account_id>/onboarding", stripe_views.onboarding_script,
         name="stripe_onboarding_script"),
]
