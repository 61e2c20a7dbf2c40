from dataclasses import dataclass


@dataclass(frozen=True)
class Money:
    """An amount in the currency's minor unit (cents for USD, yen for JPY) and its ISO 4217 code."""

    amount: int
    currency: str
