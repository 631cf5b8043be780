from __future__ import annotations

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from clinics.billing.selectors import billing_states
from clinics.selectors import clinics_with_usage
from tenants import plans
from tenants.management.ops import OpsCommand
from tenants.models import Tenant
from tenants.outbox import outbox_counts_by_clinic
from tenants.platform import platform_access


def _usage(current: int, maximum: int | None) -> str:
    return f"{current:,}/{'∞' if maximum is None else f'{maximum:,}'}"


def _billing_state(tenant: Tenant, unpaid: dict | None) -> dict:
    """What the platform is owed by a clinic and what it has paid for."""
    return {
        "paid_until": tenant.paid_until.isoformat() if tenant.paid_until else None,
        "pending_plan": tenant.pending_plan or None,
        "monthly_price_inr": str(tenant.monthly_price_inr) if tenant.monthly_price_inr else None,
        "unpaid_invoices": 0,
        "unpaid_amount": "0.00",
        "next_due": None,
        "overdue": False,
        **(unpaid or {}),
    }


class Command(OpsCommand):
    help = (
        "List the clinics with plan, status, trial end and usage against the plan's limits "
        "(doctors, patients, active members) and the clinic's failed e-mails (pending ones too "
        "in --json; `send_outbox --failed` lists them). --json prints JSON for scripts. "
        "--json also gives each clinic's billing state (paid until, unpaid invoices). "
        "Reading every clinic is platform access, recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        parser.add_argument("--status", choices=Tenant.Status.values, help="Only this status.")
        parser.add_argument("--plan", choices=list(plans.PLANS), help="Only this plan.")
        parser.add_argument("--search", help="Only clinics whose name or code contains this.")

    def handle(self, *args, **options):
        rows = self._rows(options)
        if options["json"]:
            self.stdout.write(json.dumps(rows, cls=DjangoJSONEncoder, indent=2))
            return
        if not rows:
            self.stdout.write("No clinics.")
            return
        header = (
            "code",
            "name",
            "plan",
            "status",
            "trial ends",
            "doctors",
            "patients",
            "members",
            "failed e-mails",
        )
        table = [header] + [
            (
                r["code"],
                r["name"][:40],
                r["plan"],
                r["status"],
                r["trial_ends_at"][:10] if r["trial_ends_at"] else "—",
                _usage(r["doctors"]["current"], r["doctors"]["max"]),
                _usage(r["patients"]["current"], r["patients"]["max"]),
                f"{r['members']:,}",
                f"{r['emails']['failed']:,}",
            )
            for r in rows
        ]
        widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
        for index, row in enumerate(table):
            self.stdout.write(
                "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
            if index == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write(f"{len(rows)} clinic(s).")

    def _rows(self, options) -> list[dict]:
        filters = {k: options[k] for k in ("status", "plan") if options.get(k)}
        with platform_access(
            reason="manage.py tenants: list clinics", action="platform.command", details=self.who()
        ):
            queryset = clinics_with_usage(Tenant.objects.filter(**filters)).order_by("code")
            if options.get("search"):
                term = options["search"]
                queryset = queryset.filter(Q(name__icontains=term) | Q(code__icontains=term))
            # E-mails waiting or given up on, per clinic (tenants.outbox); the failed ones are
            # listed by `manage.py send_outbox --failed`.
            emails = outbox_counts_by_clinic()
            queryset = list(queryset)
            # Unpaid invoices per clinic (tenants.billing): count, amount, earliest due date.
            unpaid = billing_states(t.pk for t in queryset)
            return [
                {
                    "id": str(t.pk),
                    "code": t.code,
                    "name": t.name,
                    "plan": t.plan,
                    "status": t.status,
                    "trial_ends_at": t.trial_ends_at.isoformat() if t.trial_ends_at else None,
                    "doctors": {"current": t.doctor_count, "max": t.max_doctors},
                    "patients": {"current": t.patient_count, "max": t.max_patients},
                    "members": t.user_count,
                    "created_at": t.created_at.isoformat(),
                    "billing": _billing_state(t, unpaid.get(t.pk)),
                    "emails": emails.get(t.pk, {"pending": 0, "failed": 0}),
                }
                for t in queryset
            ]
