"""The owner's theme over the API (``/api/v1/me/theme``)."""

from ninja import Router

router = Router(tags=["theme"])
