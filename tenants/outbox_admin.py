"""The e-mail outbox in the admin: for platform operators only (the clinic-aware site makes a
plain ModelAdmin platform-only), read-only, with one action: send failed e-mails again.

The messages themselves are not shown: a pending e-mail holds a one-time link (a password
reset, an invitation) that an operator has no business reading; recipient, template, clinic,
status, attempts and the last error are what it takes to find and fix a delivery problem.
"""

from __future__ import annotations

from django.contrib import admin, messages

from tenants.admin_mixins import ViewOnlyMixin
from tenants.models import OutboxEmail
from tenants.outbox import outbox_retry


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "template",
        "recipient",
        "tenant_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "template")
    search_fields = ("recipient",)
    ordering = ("-created_at",)
    fields = (
        "created_at",
        "template",
        "recipient",
        "subject",
        "tenant_id",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    )
    readonly_fields = fields
    actions = ["send_again"]

    @admin.action(description="Send the selected failed e-mails again")
    def send_again(self, request, queryset):
        count = outbox_retry(ids=list(queryset.values_list("pk", flat=True)), actor=request.user)
        self.message_user(request, f"{count} failed e-mail(s) queued again.", messages.SUCCESS)
