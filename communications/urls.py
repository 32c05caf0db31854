"""Each views module of communications lists its own routes; this joins them.

The engagement pages live here rather than in engagements/: they gather
stakeholders, plans and obligations, and only this app may import all three.
"""

from communications.views import calendar as calendar_views
from communications.views import (
    check_ins,
    compliance,
    engagements,
    follow_ups,
    obligations,
    plan,
    search,
    timeline,
    week,
)

urlpatterns = [
    *week.urlpatterns,
    *engagements.urlpatterns,
    *check_ins.urlpatterns,
    *search.urlpatterns,
    *plan.urlpatterns,
    *timeline.urlpatterns,
    *follow_ups.urlpatterns,
    *obligations.urlpatterns,
    *calendar_views.urlpatterns,
    *compliance.urlpatterns,
]
