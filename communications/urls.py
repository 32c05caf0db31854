"""Each views module of communications lists its own routes; this joins them."""

from communications.views import (
    briefs,
    check_in_corrections,
    check_ins,
    follow_ups,
    obligations,
    plan,
    raid,
    timeline,
)
from communications.views import calendar as calendar_views

urlpatterns = [
    *check_ins.urlpatterns,
    *check_in_corrections.urlpatterns,
    *plan.urlpatterns,
    *timeline.urlpatterns,
    *follow_ups.urlpatterns,
    *obligations.urlpatterns,
    *raid.urlpatterns,
    *briefs.urlpatterns,
    *calendar_views.urlpatterns,
]
