from typing import Any

from django.contrib.auth.backends import BaseBackend


class AdministratorRoleBackend(BaseBackend):
    """Users with the administrator role hold every permission, as superusers do.

    Authenticates no one: it only answers permission questions, so the role
    alone is enough to run the admin without also ticking "superuser".
    """

    def _is_administrator(self, user_obj: Any) -> bool:
        return bool(user_obj.is_active and getattr(user_obj, "role", "") == "administrator")

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return self._is_administrator(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return self._is_administrator(user_obj)
