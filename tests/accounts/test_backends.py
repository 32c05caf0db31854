from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import User
from tests import factories


@pytest.mark.django_db
def test_an_administrator_by_role_runs_the_admin_without_the_superuser_flag(client):
    # Given a staff user whose role is administrator but who is not a superuser
    admin = factories.UserFactory.create(role=User.Role.ADMINISTRATOR, is_staff=True, is_superuser=False)
    client.force_login(admin)

    # When they open the admin and the list of engagements in it
    index = client.get(reverse("admin:index"))
    changelist = client.get(reverse("admin:engagements_engagement_changelist"))

    # Then they see and may open every model
    assert index.status_code == 200
    assert "Engagements" in index.content.decode()
    assert changelist.status_code == 200


@pytest.mark.django_db
def test_other_roles_gain_no_permission_from_the_role_backend():
    # Given a practice lead and an inactive administrator
    lead = factories.practice_lead(is_staff=True)
    inactive = factories.UserFactory.create(role=User.Role.ADMINISTRATOR, is_active=False)

    # Then neither holds a permission
    assert not lead.has_perm("engagements.change_engagement")
    assert not inactive.has_perm("engagements.change_engagement")
