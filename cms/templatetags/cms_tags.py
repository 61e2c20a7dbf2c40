from django import template

from cms.access import is_site_editor

register = template.Library()


@register.filter
def site_editor(user) -> bool:
    return user.is_owner or is_site_editor(user)
