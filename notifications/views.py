"""Portal pages: one-click unsubscribe (no login), mail preferences, watchers of a ticket."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ServiceError
from tickets.views import get_ticket

from . import services
from .models import Category
from .unsubscribe import read_token


@csrf_exempt  # RFC 8058: mail clients POST without a session; the signed token is the proof
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    found = read_token(token)
    if found is None or found[1] not in Category.values:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    email, category = found
    done = request.method == "POST"
    if done:
        services.turn_off(email, category)
    context = {"email": email, "category": Category(category).label, "done": done}
    return render(request, "notifications/unsubscribe.html", context)


class PreferencesForm(forms.Form):
    enabled = forms.MultipleChoiceField(
        label=gettext_lazy("Mail me about"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        categories = services.categories_for(user)
        self.fields["enabled"].choices = [(c.value, c.label) for c in categories]


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    user = request.user
    initial = {"enabled": sorted(services.enabled_categories(user))}
    form = PreferencesForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.set_preferences(user, form.cleaned_data["enabled"])
        messages.success(request, _("Your mail preferences were saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


@login_required
@require_POST
def add_watcher(request, reference):
    ticket = get_ticket(request.user, reference)
    try:
        services.add_watcher(ticket, email=request.POST.get("email", ""), actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The watcher was added."))
    return redirect("tickets:detail", reference=ticket.reference)


@login_required
@require_POST
def remove_watcher(request, reference, pk):
    ticket = get_ticket(request.user, reference)
    if services.remove_watcher(ticket, pk):
        messages.success(request, _("The watcher was removed."))
    else:
        messages.error(request, _("No such watcher."))
    return redirect("tickets:detail", reference=ticket.reference)
