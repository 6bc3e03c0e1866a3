from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse(b"hello from the app\n", content_type="text/plain")


urlpatterns = [path("", hello)]
