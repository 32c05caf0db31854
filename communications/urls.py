"""Each views module of communications lists its own routes; this joins them."""

from communications.views import check_ins, follow_ups, obligations, plan, search, timeline, week

urlpatterns = [
    *week.urlpatterns,
    *check_ins.urlpatterns,
    *search.urlpatterns,
    *plan.urlpatterns,
    *timeline.urlpatterns,
    *follow_ups.urlpatterns,
    *obligations.urlpatterns,
]
