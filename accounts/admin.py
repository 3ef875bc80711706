"""Staff admin for organizations, contracts, plans and people.

Support staff are plain `is_staff` users without per-model permissions, so these admins grant
access by role (StaffAccessMixin, also used by tickets.admin). Privileges stay with superusers:
only they delete, edit plans, or touch is_staff / is_superuser / groups / permissions.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, Contract, Organization, Plan, User


def is_staff(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


def is_superuser(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


class StaffAccessMixin:
    """Any active staff member may view, add and change; only superusers delete."""

    def has_module_permission(self, request):
        return is_staff(request)

    def has_view_permission(self, request, obj=None):
        return is_staff(request)

    def has_add_permission(self, request, obj=None):
        return is_staff(request)

    def has_change_permission(self, request, obj=None):
        return is_staff(request)

    def has_delete_permission(self, request, obj=None):
        return is_superuser(request)


class ReadOnlyMixin(StaffAccessMixin):
    """Staff see these rows; nobody edits them here (the services write them)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RoleFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return [("staff", _("Support staff")), ("client", _("Client"))]

    def queryset(self, request, queryset):
        if self.value() == "staff":
            return queryset.filter(is_staff=True)
        if self.value() == "client":
            return queryset.filter(is_staff=False)
        return queryset


PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(StaffAccessMixin, BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("eService"), {"fields": ("organization", "is_org_admin", "language", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("eService"), {"fields": ("email", "organization", "is_org_admin", "is_staff")}),
    )
    list_display = ("username", "email", "full_name", "organization", "is_staff", "is_active")
    list_filter = (
        RoleFilter,
        ("organization", admin.RelatedOnlyFieldListFilter),
        "is_org_admin",
        "is_active",
        "is_superuser",
    )
    list_select_related = ("organization",)
    search_fields = ("username", "email", "first_name", "last_name", "organization__name")
    autocomplete_fields = ("organization",)
    ordering = ("username",)

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, obj):
        return obj.get_full_name()

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if is_superuser(request):
            return readonly
        return readonly + PRIVILEGE_FIELDS

    def has_change_permission(self, request, obj=None):
        """Staff manage client accounts and their own; other staff accounts are superusers'.

        Otherwise an agent could reset a superuser's (or a colleague's) password and act as them.
        """
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or is_superuser(request) or obj.pk == request.user.pk:
            return True
        return not (obj.is_staff or obj.is_superuser)


class ContractInline(StaffAccessMixin, admin.StackedInline):
    model = Contract
    fields = (
        ("plan", "region"),
        ("start_date", "end_date"),
        ("support_manager", "account_manager"),
    )
    autocomplete_fields = ("support_manager", "account_manager")
    can_delete = False
    max_num = 1
    min_num = 1


@admin.register(Organization)
class OrganizationAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = ("name", "region", "plan", "contract_end", "users_count")
    list_filter = ("contract__region", "contract__plan")
    search_fields = ("name", "email_domains")
    fields = ("name", "email_domains", "language")
    inlines = (ContractInline,)

    def get_queryset(self, request):
        # One query for the changelist: the contract and plan joined, users counted in SQL.
        return (
            super()
            .get_queryset(request)
            .select_related("contract__plan")
            .annotate(users_count=Count("users"))
            .order_by("name")  # an aggregate drops Meta.ordering; the autocomplete pages this
        )

    @admin.display(description=_("region"), ordering="contract__region")
    def region(self, obj):
        contract = getattr(obj, "contract", None)
        return contract.get_region_display() if contract else "—"

    @admin.display(description=_("plan"), ordering="contract__plan__name")
    def plan(self, obj):
        contract = getattr(obj, "contract", None)
        return contract.plan if contract else "—"

    @admin.display(description=_("contract end"), ordering="contract__end_date")
    def contract_end(self, obj):
        contract = getattr(obj, "contract", None)
        return contract.end_date if contract else None

    @admin.display(description=_("users"), ordering="users_count")
    def users_count(self, obj):
        return obj.users_count


@admin.register(Plan)
class PlanAdmin(StaffAccessMixin, admin.ModelAdmin):
    """Plans drive every deadline: staff read them, superusers edit them."""

    list_display = ("name", "slug", "intake_local_part", "pause_when_pending")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def has_add_permission(self, request, obj=None):
        return is_superuser(request)

    def has_change_permission(self, request, obj=None):
        return is_superuser(request)


@admin.register(Contract)
class ContractAdmin(StaffAccessMixin, admin.ModelAdmin):
    list_display = (
        "organization",
        "plan",
        "region",
        "start_date",
        "end_date",
        "support_manager",
        "account_manager",
    )
    list_filter = ("region", "plan")
    list_select_related = ("organization", "plan", "support_manager", "account_manager")
    search_fields = ("organization__name",)
    autocomplete_fields = ("organization", "support_manager", "account_manager")
    ordering = ("organization__name",)


@admin.register(ApiToken)
class ApiTokenAdmin(StaffAccessMixin, admin.ModelAdmin):
    """Staff see who holds API tokens and revoke them; the key is never stored, nor shown."""

    list_display = ("user", "created_at", "expires_at", "live")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    fields = readonly_fields = ("user", "created_at", "expires_at")
    actions = ("revoke",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description=_("Live"))
    def live(self, obj):
        return obj.expires_at > timezone.now()

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        count = queryset.delete()[0]
        self.message_user(request, _("%d tokens revoked.") % count, messages.SUCCESS)
