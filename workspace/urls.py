"""Each views module of the workspace lists its own routes; this joins them."""

from workspace.views import (
    clients,
    compliance,
    dashboards,
    engagements,
    search,
    stakeholders,
    team,
    trends,
    week,
)

urlpatterns = [
    *week.urlpatterns,
    *engagements.urlpatterns,
    *team.urlpatterns,
    *search.urlpatterns,
    *stakeholders.urlpatterns,
    *compliance.urlpatterns,
    *clients.urlpatterns,
    *dashboards.urlpatterns,
    *trends.urlpatterns,
]
