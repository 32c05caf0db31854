"""Each views module of the workspace lists its own routes; this joins them."""

from workspace.views import compliance, engagements, search, stakeholders, week

urlpatterns = [
    *week.urlpatterns,
    *engagements.urlpatterns,
    *search.urlpatterns,
    *stakeholders.urlpatterns,
    *compliance.urlpatterns,
]
