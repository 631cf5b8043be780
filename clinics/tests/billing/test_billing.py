"""Billing: invoices with GST, gap-free numbering, plans that change only when paid, the
daily run. That a paid invoice never changes is test_billing_frozen.py.

Issuing an invoice is the platform's act on its own connection, so these tests commit their
data (`live_db`).
"""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from accounts.testing import create_clinic
from clinical.models import Doctor
from clinics.billing.services import (
    add_month,
    billing_run,
    enterprise_terms_set,
    invoice_issue,
    plan_request,
    plan_set,
)
from clinics.tests.billing.helpers import (
    FY,
    TODAY,
    actions,
    invoices,
    pay,
    reload,
)
from core.errors import ApplicationError
from tenants import plans
from tenants.billing import gst
from tenants.billing.models import Invoice, Payment
from tenants.context import tenant_context
from tenants.models import PlanChange, Tenant
from tenants.platform import platform_access
from tenants.services import tenant_update
from tenants.testing import build

# --- GST -------------------------------------------------------------------------------------


def test_intra_state_gst_is_cgst_plus_sgst_rounded_to_the_paisa():
    split = gst.tax_split(Decimal("2999"), supplier_state="29", place_of_supply="29")
    assert (split.cgst, split.sgst, split.igst) == (
        Decimal("269.91"),
        Decimal("269.91"),
        Decimal("0.00"),
    )
    assert split.total == Decimal("3538.82")


def test_inter_state_or_unknown_state_gst_is_igst():
    for place in ("27", ""):
        split = gst.tax_split(Decimal("9999"), supplier_state="29", place_of_supply=place)
        assert (split.cgst, split.sgst, split.igst) == (
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("1799.82"),
        )
        assert split.total == Decimal("11798.82")


def test_half_paisa_rounds_up():
    # 18% of 0.25 is 0.045: half-up gives 0.05 (banker's rounding would give 0.04).
    assert gst.tax_split(Decimal("0.25"), supplier_state="29", place_of_supply="").igst == (
        Decimal("0.05")
    )


def test_financial_year_runs_april_to_march():
    assert gst.financial_year(datetime.date(2027, 3, 31)) == "2026-27"
    assert gst.financial_year(datetime.date(2027, 4, 1)) == "2027-28"
    assert gst.financial_year(datetime.date(2099, 12, 1)) == "2099-00"


def test_gstin_is_validated_with_its_check_character(clinic):
    tenant_update(tenant=clinic, actor=None, gstin="27aapfu0939f1zv", billing_state="27")
    assert reload(clinic).gstin == "27AAPFU0939F1ZV"
    for bad in ("27AAPFU0939F1ZA", "27AAPFU0939F1Z", "99AAPFU0939F1ZV"):
        with pytest.raises(ApplicationError) as excinfo:
            tenant_update(tenant=clinic, actor=None, gstin=bad)
        assert "gstin" in excinfo.value.field_errors
    with pytest.raises(ApplicationError) as excinfo:
        tenant_update(tenant=clinic, actor=None, billing_state="29")  # GSTIN says 27
    assert "gstin" in excinfo.value.field_errors
    assert reload(clinic).gstin == "27AAPFU0939F1ZV"


# --- issuing and numbering -------------------------------------------------------------------


def test_an_invoice_carries_number_parties_period_lines_and_gst(clinic):
    with tenant_context(clinic):
        Tenant.objects.filter(pk=clinic.pk).update(address="14, 12th Main, Bengaluru")
    invoice = invoice_issue(
        tenant=reload(clinic), kind=Invoice.Kind.UPGRADE, plan=plans.BASIC, period_start=TODAY
    )
    assert invoice.number == f"INV/{FY}/000001" and invoice.status == Invoice.Status.OPEN
    assert (invoice.bill_to_name, invoice.bill_to_state, invoice.seller_state) == (
        "Asha Dental Care",
        "29",
        "29",
    )
    assert invoice.bill_to_address == "14, 12th Main, Bengaluru"
    assert (invoice.period_start, invoice.period_end) == (TODAY, add_month(TODAY))
    assert invoice.due_date == TODAY + datetime.timedelta(days=7)
    assert (invoice.subtotal, invoice.cgst, invoice.sgst, invoice.igst, invoice.total) == (
        Decimal("2999.00"),
        Decimal("269.91"),
        Decimal("269.91"),
        Decimal("0.00"),
        Decimal("3538.82"),
    )
    [line] = invoice.lines.all()
    assert line.amount == Decimal("2999.00") and "Basic plan" in line.description
    assert "invoice.issued" in actions(clinic)


def test_numbers_are_one_sequence_across_clinics_without_gaps_under_concurrency(clinic, other):
    errors = []

    def issue(tenant):
        try:
            invoice_issue(
                tenant=tenant, kind=Invoice.Kind.UPGRADE, plan=plans.BASIC, period_start=TODAY
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            for alias in connections:
                connections[alias].close()

    threads = [threading.Thread(target=issue, args=(t,)) for t in [clinic, other] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(i.number for t in (clinic, other) for i in invoices(t))
    assert numbers == [f"INV/{FY}/{n:06d}" for n in range(1, 9)]
    assert len(invoices(clinic)) == len(invoices(other)) == 4


def test_numbering_starts_again_each_financial_year(clinic):
    first = invoice_issue(
        tenant=clinic,
        kind=Invoice.Kind.UPGRADE,
        plan=plans.BASIC,
        period_start=TODAY,
        issued_on=datetime.date(2031, 3, 31),
    )
    second = invoice_issue(
        tenant=clinic,
        kind=Invoice.Kind.UPGRADE,
        plan=plans.BASIC,
        period_start=TODAY,
        issued_on=datetime.date(2031, 4, 1),
    )
    assert (first.number, second.number) == ("INV/2030-31/000001", "INV/2031-32/000001")


def test_a_failed_issue_takes_no_number(clinic):
    with pytest.raises(ApplicationError) as excinfo:
        invoice_issue(
            tenant=clinic, kind=Invoice.Kind.UPGRADE, plan=plans.ENTERPRISE, period_start=TODAY
        )
    assert excinfo.value.code == "no_price"
    invoice = invoice_issue(
        tenant=clinic, kind=Invoice.Kind.UPGRADE, plan=plans.BASIC, period_start=TODAY
    )
    assert invoice.number == f"INV/{FY}/000001"


def test_the_counter_is_the_platforms_alone(clinic):
    invoice_issue(tenant=clinic, kind=Invoice.Kind.UPGRADE, plan=plans.BASIC, period_start=TODAY)
    for statement in (
        "SELECT last_number FROM tenants_invoicecounter",
        "UPDATE tenants_invoicecounter SET last_number = 0",
    ):
        with tenant_context(clinic), pytest.raises(DatabaseError) as excinfo:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
        assert "permission denied" in str(excinfo.value)


# --- upgrades: an invoice first, the plan when it is paid ----------------------------------------


def test_an_upgrade_request_opens_an_invoice_and_keeps_the_current_limits(clinic):
    result = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.PREMIUM)
    assert result.outcome == "invoice" and result.invoice.plan == plans.PREMIUM
    tenant = reload(clinic)
    assert (tenant.plan, tenant.max_doctors, tenant.max_patients) == ("trial", 5, 1_000)
    with tenant_context(clinic):
        assert not PlanChange.objects.exists()


def test_paying_the_invoice_changes_the_plan_at_once_and_records_it(clinic):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    pay(invoice)
    tenant = reload(clinic)
    assert (tenant.plan, tenant.max_doctors, tenant.paid_until) == ("basic", 20, add_month(TODAY))
    with tenant_context(clinic):
        change = PlanChange.objects.get()
        assert Invoice.objects.get().status == "paid"
    assert (change.from_plan, change.to_plan, change.invoice_id) == ("trial", "basic", invoice.pk)
    assert {"invoice.paid", "tenant.plan_changed"} <= set(actions(clinic))


def test_an_expired_trial_stays_read_only_until_its_invoice_is_paid(live_db):
    clinic = create_clinic(trial_ends_at=timezone.now() - datetime.timedelta(days=1))
    billing_run()
    assert reload(clinic).status == Tenant.Status.EXPIRED
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    assert not reload(clinic).is_writable
    pay(invoice)
    tenant = reload(clinic)
    assert tenant.is_writable and tenant.status == Tenant.Status.ACTIVE


def test_a_payment_of_another_amount_is_refused_and_changes_nothing(clinic):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    with pytest.raises(ApplicationError) as excinfo:
        pay(invoice, amount=Decimal("2999.00"))
    assert excinfo.value.code == "amount_mismatch"
    assert reload(clinic).plan == "trial" and invoices(clinic)[0].status == "open"
    with tenant_context(clinic):
        assert not Payment.objects.exists()


def test_asking_again_reuses_the_open_invoice_and_another_plan_replaces_it(clinic):
    first = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    again = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    assert again.pk == first.pk
    premium = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.PREMIUM).invoice
    statuses = {i.number: (i.plan, i.status) for i in invoices(clinic)}
    assert statuses == {first.number: ("basic", "void"), premium.number: ("premium", "open")}


def test_paying_one_clinics_invoice_leaves_the_other_clinic_alone(clinic, other):
    mine = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    theirs = plan_request(tenant=other, actor=other.owner, plan=plans.BASIC).invoice
    pay(mine)
    assert reload(other).plan == "trial"
    with tenant_context(other):
        assert Invoice.objects.get().pk == theirs.pk and theirs.status == "open"
        assert not Payment.objects.exists()


def test_trial_and_enterprise_cannot_be_chosen_by_an_owner(clinic):
    for plan, code in (("enterprise", "enterprise_by_agreement"), ("trial", "trial_unavailable")):
        with pytest.raises(ApplicationError) as excinfo:
            plan_request(tenant=clinic, actor=clinic.owner, plan=plan)
        assert excinfo.value.code == code
    assert reload(clinic).plan == "trial" and invoices(clinic) == []


# --- downgrades --------------------------------------------------------------------------------


@pytest.fixture
def premium_paid(clinic):
    pay(plan_request(tenant=clinic, actor=clinic.owner, plan=plans.PREMIUM).invoice)
    tenant = reload(clinic)
    tenant.owner = clinic.owner
    return tenant


def test_a_downgrade_waits_for_the_end_of_the_paid_period(premium_paid):
    result = plan_request(tenant=premium_paid, actor=premium_paid.owner, plan=plans.BASIC)
    assert result.outcome == "scheduled" and result.effective_on == add_month(TODAY)
    tenant = reload(premium_paid)
    assert (tenant.plan, tenant.pending_plan) == ("premium", "basic")
    billing_run(on=add_month(TODAY) - datetime.timedelta(days=1))
    assert reload(premium_paid).plan == "premium"
    billing_run(on=add_month(TODAY))
    tenant = reload(premium_paid)
    assert (tenant.plan, tenant.pending_plan) == ("basic", "")
    with tenant_context(tenant):
        assert PlanChange.objects.order_by("-changed_at").first().reason == "scheduled downgrade"


def test_the_renewal_after_a_scheduled_downgrade_is_for_the_smaller_plan(premium_paid):
    plan_request(tenant=premium_paid, actor=premium_paid.owner, plan=plans.BASIC)
    billing_run(on=add_month(TODAY) - datetime.timedelta(days=3))
    renewal = [i for i in invoices(premium_paid) if i.kind == "renewal"]
    assert [(i.plan, i.period_start, i.subtotal) for i in renewal] == [
        ("basic", add_month(TODAY), Decimal("2999.00"))
    ]


# --- Enterprise and operators -----------------------------------------------------------------


def test_operators_set_enterprise_terms_with_custom_limits_and_price(clinic):
    enterprise_terms_set(
        tenant=clinic,
        actor=None,
        max_doctors=250,
        max_patients=None,
        monthly_price_inr=Decimal("45000"),
        reason="Agreement 2026-07",
    )
    tenant = reload(clinic)
    assert (tenant.plan, tenant.max_doctors, tenant.max_patients) == ("enterprise", 250, None)
    assert tenant.monthly_price_inr == Decimal("45000.00")
    billing_run()
    [renewal] = invoices(clinic)
    assert (renewal.plan, renewal.subtotal, renewal.kind) == (
        "enterprise",
        Decimal("45000.00"),
        "renewal",
    )
    assert "tenant.enterprise_terms_set" in actions(clinic)


def test_an_operator_decision_applies_at_once_and_is_recorded(clinic):
    plan_set(tenant=clinic, actor=None, plan=plans.PREMIUM, reason="Paid by cheque 004512")
    tenant = reload(clinic)
    assert tenant.plan == "premium" and tenant.paid_until == TODAY
    with tenant_context(clinic):
        assert PlanChange.objects.get().reason == "Paid by cheque 004512"


def test_enterprise_limits_below_usage_are_refused(clinic):
    with tenant_context(clinic):
        for n in range(3):
            build(Doctor, license_number=f"L{n}")
    with pytest.raises(ApplicationError) as excinfo:
        enterprise_terms_set(
            tenant=clinic,
            actor=None,
            max_doctors=2,
            max_patients=None,
            monthly_price_inr=None,
            reason="x",
        )
    assert excinfo.value.code == "plan_below_usage"
    assert reload(clinic).plan == "trial"


# --- renewals, overdue, read-only, reopening -------------------------------------------------


def test_renewal_overdue_read_only_and_paying_reopens_at_once(clinic):
    pay(plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice)
    end = add_month(TODAY)
    report = billing_run(on=end - datetime.timedelta(days=8))
    assert report.renewals == []
    report = billing_run(on=end - datetime.timedelta(days=7))
    [renewal] = [i for i in invoices(clinic) if i.kind == "renewal"]
    assert report.renewals == [renewal.number]
    assert (renewal.period_start, renewal.due_date) == (end, end)
    assert billing_run(on=end - datetime.timedelta(days=6)).renewals == [], "opened once"

    report = billing_run(on=end + datetime.timedelta(days=1))
    assert report.overdue == [renewal.number] and reload(clinic).is_writable, "grace period"
    report = billing_run(on=end + datetime.timedelta(days=8))
    assert report.read_only == [clinic.code]
    tenant = reload(clinic)
    assert tenant.status == Tenant.Status.PAST_DUE and not tenant.is_writable
    assert tenant.plan == "basic"

    with tenant_context(clinic):
        renewal = Invoice.objects.get(pk=renewal.pk)
    pay(renewal, reference="UTR-RENEWAL")
    tenant = reload(clinic)
    assert tenant.is_writable and tenant.paid_until == add_month(end)
    assert "tenant.reopened" in actions(clinic)


def test_an_unpaid_upgrade_invoice_never_makes_a_clinic_read_only(clinic):
    plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC)
    with tenant_context(clinic):
        Tenant.objects.filter(pk=clinic.pk).update(
            trial_ends_at=timezone.now() + datetime.timedelta(days=60)
        )
    report = billing_run(on=TODAY + datetime.timedelta(days=30))
    assert len(report.overdue) == 1 and report.read_only == []
    assert reload(clinic).is_writable


def test_purging_a_clinic_removes_its_paid_invoices_too(paid_invoice, clinic):
    from clinics.purge import clinic_purge
    from tenants.services import tenant_suspend

    tenant_suspend(tenant=clinic, actor=None, reason="end of contract")
    counts = clinic_purge(tenant=reload(clinic), reason="end of contract")
    assert counts["tenants.invoice"] == 1 and counts["tenants.invoiceline"] == 1
    with platform_access(reason="test: nothing of the clinic is left"):
        assert not Invoice.objects.filter(tenant_id=clinic.pk).exists()
