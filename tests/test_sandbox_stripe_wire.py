"""The emulator speaks Stripe's wire formats: checked against the real stripe library."""

import json
import time
from urllib.parse import urlencode

import pytest
import stripe
from stripe._encode import _api_encode

from sandbox.stripe.encoding import EncodingError, decode_form
from sandbox.stripe.signing import signature_header


def test_decodes_what_the_stripe_library_encodes():
    params = {
        "mode": "payment",
        "customer_email": "kim@example.com",
        "line_items": [{"quantity": 2, "price_data": {"currency": "jpy", "unit_amount": 5000,
                                                      "product_data": {"name": "Tax review"}}}],
        "payment_intent_data": {"application_fee_amount": 500, "transfer_data": {"destination": "acct_123"}},
        "metadata": {"schema": "t_demo", "call": "c-1"},
        "expand": ["payment_intent", "line_items"],
        "livemode": False,
    }
    body = urlencode(list(_api_encode(params)))
    decoded = decode_form(body)
    assert decoded == {
        "mode": "payment",
        "customer_email": "kim@example.com",
        "line_items": [{"quantity": "2", "price_data": {"currency": "jpy", "unit_amount": "5000",
                                                        "product_data": {"name": "Tax review"}}}],
        "payment_intent_data": {"application_fee_amount": "500", "transfer_data": {"destination": "acct_123"}},
        "metadata": {"schema": "t_demo", "call": "c-1"},
        "expand": ["payment_intent", "line_items"],
        "livemode": "false",
    }


def test_decodes_empty_brackets_and_rejects_malformed_names():
    assert decode_form("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}
    with pytest.raises(EncodingError):
        decode_form("a[b=1")
    with pytest.raises(EncodingError):
        decode_form("a=1&a[b]=2")


def test_signatures_verify_with_the_stripe_library():
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "account.updated"})
    secret = "whsec_test_secret"
    header = signature_header(payload, secret)
    event = stripe.Webhook.construct_event(payload, header, secret)
    assert event["id"] == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
    stale = signature_header(payload, secret, timestamp=int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, secret, tolerance=300)
