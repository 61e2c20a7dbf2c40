from decimal import Decimal

from babel.numbers import format_currency
from django import template

from core.choices import currency_minor_units

register = template.Library()


@register.simple_tag
def money(value) -> str:
    """Format a ``Money``-like object (integer minor units + ISO code), never through a float."""
    amount = Decimal(value.amount).scaleb(-currency_minor_units(value.currency))
    return format_currency(amount, value.currency, locale="en")
