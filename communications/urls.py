"""Each views module of communications lists its own routes; this joins them."""

from communications.views import calendar as calendar_views
from communications.views import (
    check_ins,
    follow_ups,
    obligations,
    plan,
    raid,
    timeline,
)

urlpatterns = [
    *check_ins.urlpatterns,
    *plan.urlpatterns,
    *timeline.urlpatterns,
    *follow_ups.urlpatterns,
    *obligations.urlpatterns,
    *raid.urlpatterns,
    *calendar_views.urlpatterns,
]
