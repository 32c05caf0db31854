from django.urls import path

from communications.views import check_ins, search, week

urlpatterns = [
    path("", week.my_week, name="home"),
    path("check-ins/new/", check_ins.check_in_create, name="check_in_create"),
    path("search/", search.search, name="search"),
]
