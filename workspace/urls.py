"""Each views module of the workspace lists its own routes; this joins them."""

from workspace.views import clients, compliance, engagements, search, stakeholders, team, trends, week

urlpatterns = [
    *week.urlpatterns,
    *engagements.urlpatterns,
    *team.urlpatterns,
    *search.urlpatterns,
    *stakeholders.urlpatterns,
    *compliance.urlpatterns,
    *clients.urlpatterns,
    *trends.urlpatterns,
]
