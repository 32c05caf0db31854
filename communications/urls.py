"""Each views module of communications lists its own routes; this joins them."""

from communications.views import calendar as calendar_views
from communications.views import (
    check_in_corrections,
    check_ins,
    follow_ups,
    obligations,
    plan,
    timeline,
)

urlpatterns = [
    *check_ins.urlpatterns,
    *check_in_corrections.urlpatterns,
    *plan.urlpatterns,
    *timeline.urlpatterns,
    *follow_ups.urlpatterns,
    *obligations.urlpatterns,
    *calendar_views.urlpatterns,
]
