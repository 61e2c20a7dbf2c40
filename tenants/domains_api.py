"""The owner's custom domains over the API (``/api/v1/me/domains``)."""

from ninja import Router

router = Router(tags=["domains"])
