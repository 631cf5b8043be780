"""The base of every clinic API view: authentication, tenant scoping and permissions.

* The clinic comes from the verified JWT membership (accounts.authentication) and becomes
  the tenant context right after DRF has authenticated the request, inside the request's
  transaction (ATOMIC_REQUESTS), so every query of the view runs for that clinic only.
* `ClinicScopedViewSet.get_queryset()` starts from the model's scoped manager: the clinic
  filter is applied first, so another clinic's object is simply not found (404, the same as
  a missing one, never 403). Subclasses narrow with `narrow_queryset()` and adjust a URL's
  look-up value with `normalize_lookup()`; overriding `get_queryset()` or `get_object()` is
  refused at class creation, as PostHog's team-scoped mixin does.
* `get_permissions()` always puts `IsClinicMember` first, before the view's own
  `permission_classes`: a view can add checks, never drop the membership one. Overriding it
  is refused too.
* Writes of a suspended clinic or an expired trial answer 402 `subscription_inactive`.
* A POST with an `Idempotency-Key` header is answered once; retries get the stored answer
  (tenants.idempotency).
"""

from __future__ import annotations

from rest_framework import permissions, viewsets
from rest_framework.views import APIView

from accounts.permissions import RolePermission
from core.errors import SubscriptionInactive
from tenants import idempotency
from tenants.context import activate, deactivate


class IsClinicMember(permissions.BasePermission):
    message = "Log in to a clinic first."

    def has_permission(self, request, view):
        return bool(
            request.user and request.user.is_authenticated and getattr(request, "membership", None)
        )


# Methods a clinic API view may not override: each would be a way around the clinic filter
# or the membership check.
GUARDED_METHODS = ("get_permissions",)
GUARDED_VIEWSET_METHODS = ("get_queryset", "get_object")


def _refuse_overrides(cls, names, advice: str) -> None:
    for name in names:
        if name in cls.__dict__:
            raise TypeError(f"{cls.__name__} overrides {name}(); {advice}")


class ClinicAPIMixin:
    # The view's own checks; IsClinicMember always runs before them (get_permissions).
    permission_classes = [RolePermission]
    # Roles allowed to read (GET, HEAD, OPTIONS) and to write; None: every active member.
    read_roles = None
    write_roles = None
    # Views that must work for a read-only clinic (changing plan, logging out) set this.
    allow_when_inactive = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _refuse_overrides(
            cls, GUARDED_METHODS, "set permission_classes: the membership check always comes first."
        )

    def get_permissions(self):
        return [IsClinicMember(), *(permission() for permission in self.permission_classes)]

    def dispatch(self, request, *args, **kwargs):
        self._context_token = None
        self._idempotency = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._context_token is not None:
                deactivate(self._context_token)
                self._context_token = None

    def perform_authentication(self, request):
        super().perform_authentication(request)
        if request.successful_authenticator is None:
            # The API acts only for the clinic of a verified token; a browser session's
            # clinic (set by ClinicSessionMiddleware) never carries over to it.
            request._request.tenant = None
            request._request.membership = None
        user = request.user if request.user and request.user.is_authenticated else None
        self._context_token = activate(getattr(request, "tenant", None), user=user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and request.method not in permissions.SAFE_METHODS
            and not self.allow_when_inactive
            and not tenant.is_writable
        ):
            raise SubscriptionInactive(
                "This clinic is read-only: its trial has ended, an invoice is unpaid past its "
                "due date, or it is suspended. The owner can choose a plan or pay the invoice "
                "to continue.",
                extra={"status": tenant.status, "plan": tenant.plan},
            )
        if request.method == "POST" and tenant is not None:
            self._idempotency = idempotency.claim(request)

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.IdempotentReplay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        if self._idempotency is not None:
            idempotency.record(self._idempotency, response)
        return super().finalize_response(request, response, *args, **kwargs)


class ClinicAPIView(ClinicAPIMixin, APIView):
    pass


class ClinicScopedViewSet(ClinicAPIMixin, viewsets.GenericViewSet):
    model = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _refuse_overrides(
            cls,
            GUARDED_VIEWSET_METHODS,
            "narrow with narrow_queryset() and normalize_lookup(), so the clinic filter always "
            "applies first.",
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # Schema generation inspects the model without a request or a clinic.
            return self.model.objects.none()
        return self.narrow_queryset(self.model.objects.all())

    def get_object(self):
        # DRF's get_object() looks the object up in get_queryset(): the clinic's rows only.
        kwarg = self.lookup_url_kwarg or self.lookup_field
        if kwarg in self.kwargs:
            self.kwargs[kwarg] = self.normalize_lookup(self.kwargs[kwarg])
        return super().get_object()

    def narrow_queryset(self, queryset):
        return queryset

    def normalize_lookup(self, value: str) -> str:
        """The URL's look-up value as stored (short keys are kept in capitals, say)."""
        return value
