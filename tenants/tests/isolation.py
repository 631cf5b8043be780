"""The two-clinic isolation checks, as plain functions.

`test_isolation.py` runs each of them for every clinic-owned model (present and future);
`test_guards.py` runs them again with a guard switched off to prove that they notice.
Each check receives a `Pair`: one row of the model in clinic A and one in clinic B.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from django.db import DatabaseError, connection, models, transaction

from tenants.checks import protected_models
from tenants.context import TenantContextMissing, no_tenant, tenant_context
from tenants.scoping import CatalogForeignKey, TenantForeignKey
from tenants.testing import build


def clinic_models() -> list[type[models.Model]]:
    return [
        m
        for m in protected_models()
        if m.rls_kind in ("tenant", "catalog", "membership", "invitation")
    ]


def cross_clinic_references() -> list[tuple[type[models.Model], models.Field]]:
    return [
        (model, field)
        for model in clinic_models()
        for field in model._meta.fields
        if isinstance(field, TenantForeignKey | CatalogForeignKey)
    ]


@dataclass
class Pair:
    model: type[models.Model]
    a: object
    b: object
    row_a: models.Model
    row_b: models.Model

    @property
    def label(self) -> str:
        return self.model._meta.label

    @property
    def table(self) -> str:
        return connection.ops.quote_name(self.model._meta.db_table)


def make_pair(model, clinic_a, clinic_b) -> Pair:
    with tenant_context(clinic_a):
        row_a = build(model)
    with tenant_context(clinic_b):
        row_b = build(model)
    return Pair(model, clinic_a, clinic_b, row_a, row_b)


def _ids(cursor) -> set:
    return {row[0] for row in cursor.fetchall()}


def check_orm_reads_own_clinic_only(p: Pair) -> None:
    with tenant_context(p.a):
        ids = set(p.model.objects.values_list("pk", flat=True))
    assert p.row_a.pk in ids, f"{p.label}: clinic A cannot read its own row"
    assert p.row_b.pk not in ids, f"{p.label}: an ORM read in clinic A returned clinic B's row"


def check_manager_filters_by_clinic(p: Pair) -> None:
    """The literal `tenant_id = A` is in the SQL (it keeps the indexes usable under RLS)."""
    with tenant_context(p.a):
        sql, params = p.model.objects.all().query.sql_with_params()
    assert '"tenant_id" = %s' in sql and p.a.pk in params, (
        f"{p.label}: the default manager does not filter by the clinic in context: {sql}"
    )


def check_raw_sql_reads_own_clinic_only(p: Pair) -> None:
    with tenant_context(p.a), connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {p.table}")
        ids = _ids(cursor)
    assert p.row_a.pk in ids, f"{p.label}: raw SQL in clinic A cannot read its own row"
    assert p.row_b.pk not in ids, f"{p.label}: raw SQL in clinic A read clinic B's row"


def check_base_manager_is_backstopped(p: Pair) -> None:
    """`_base_manager` (used by related-object access) has no clinic filter: RLS must hold."""
    with tenant_context(p.a):
        leaked = p.model._base_manager.filter(pk=p.row_b.pk).exists()
    assert not leaked, f"{p.label}: _base_manager in clinic A found clinic B's row"


def _granted(model, privilege: str, column: str | None = None) -> bool:
    """Whether the runtime role holds `privilege` on the table (or one of its columns). Some
    clinic tables grant less than the rest: invoice lines are insert-only and an invoice's
    document columns never change (tenants.billing.operations)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if column:
            cursor.execute("SELECT has_column_privilege(%s, %s, %s)", [table, column, privilege])
        else:
            cursor.execute("SELECT has_table_privilege(%s, %s)", [table, privilege])
        return cursor.fetchone()[0]


def _rowcount(run, *, granted: bool) -> int:
    """The rows a statement changed; without the privilege it must be refused as such, and
    then it changed nothing."""
    if granted:
        return run()
    with pytest.raises(DatabaseError, match="permission denied"):
        with transaction.atomic():
            run()
    return 0


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def check_update_and_delete_of_other_clinic_affect_nothing(p: Pair) -> None:
    may_update = _granted(p.model, "UPDATE", "tenant_id")
    may_delete = _granted(p.model, "DELETE")
    with tenant_context(p.a):
        updated = _rowcount(
            lambda: _execute(
                f"UPDATE {p.table} SET tenant_id = tenant_id WHERE id = %s", [p.row_b.pk]
            ),
            granted=may_update,
        )
        deleted = _rowcount(
            lambda: _execute(f"DELETE FROM {p.table} WHERE id = %s", [p.row_b.pk]),
            granted=may_delete,
        )
        orm_updated = _rowcount(
            lambda: p.model._base_manager.filter(pk=p.row_b.pk).update(tenant_id=p.b.pk),
            granted=may_update,
        )
    assert (updated, deleted, orm_updated) == (0, 0, 0), (
        f"{p.label}: clinic A changed clinic B's row (update {updated}, delete {deleted}, "
        f"ORM update {orm_updated})"
    )
    with tenant_context(p.b):
        assert p.model.objects.filter(pk=p.row_b.pk).exists(), f"{p.label}: B's row is gone"


def _copy_of(row: models.Model, **changes) -> models.Model:
    copy = type(row)._base_manager.get(pk=row.pk)
    copy.pk = uuid.uuid4()
    for name, value in changes.items():
        setattr(copy, name, value)
    return copy


# A reference to a catalogue (CatalogForeignKey) is checked by a BEFORE trigger, which runs
# before row-level security's WITH CHECK: a copied row that points at a clinic's own
# catalogue entry is refused by that trigger first (the lookup itself runs under RLS). That
# is still the database refusing the row; clinical/tests/test_catalog_isolation.py proves
# that RLS alone refuses such rows when they point at a shared entry.
CATALOG_REF_REFUSED = "must reference a shared entry or one of the same clinic"


def _refused_by_database(model, message: str) -> bool:
    if "row-level security" in message:
        return True
    has_catalog_ref = any(isinstance(f, CatalogForeignKey) for f in model._meta.fields)
    return has_catalog_ref and CATALOG_REF_REFUSED in message


def _insert_bypassing_orm_guards(obj: models.Model) -> None:
    # save_base skips TenantOwnedModel.save(), i.e. the application's own tenant check, so
    # only the database stands in the way.
    with transaction.atomic():
        obj.save_base(force_insert=True)


def check_insert_for_other_clinic_is_rejected(p: Pair) -> None:
    with tenant_context(p.b):
        copy = _copy_of(p.row_b)
    with tenant_context(p.a), pytest.raises(DatabaseError) as excinfo:
        _insert_bypassing_orm_guards(copy)
    assert _refused_by_database(p.model, str(excinfo.value)), (
        f"{p.label}: inserting a row of clinic B from clinic A failed for another reason: "
        f"{excinfo.value}"
    )


def check_moving_a_row_to_other_clinic_is_rejected(p: Pair) -> None:
    with tenant_context(p.a), pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {p.table} SET tenant_id = %s WHERE id = %s", [p.b.pk, p.row_a.pk]
            )
    refused = _refused_by_database(p.model, str(excinfo.value)) or (
        "permission denied" in str(excinfo.value) and not _granted(p.model, "UPDATE", "tenant_id")
    )
    assert refused, (
        f"{p.label}: moving a row to clinic B failed for another reason: {excinfo.value}"
    )


def check_without_context_nothing_is_visible_or_writable(p: Pair) -> None:
    with no_tenant():
        with pytest.raises(TenantContextMissing):
            list(p.model.objects.all())
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {p.table}")
            visible = cursor.fetchone()[0]
        assert visible == 0, f"{p.label}: {visible} rows visible with no clinic in context"
        copy = _copy_of_any(p.row_a, p.a)
        with pytest.raises(DatabaseError) as excinfo:
            _insert_bypassing_orm_guards(copy)
        assert _refused_by_database(p.model, str(excinfo.value)), str(excinfo.value)


def _copy_of_any(row, clinic):
    with tenant_context(clinic):
        return _copy_of(row)


def check_cross_clinic_reference_is_rejected(model, field, clinic_a, clinic_b) -> None:
    with tenant_context(clinic_a):
        row_a = build(model)
    with tenant_context(clinic_b):
        foreign = build(field.related_model)
    table = connection.ops.quote_name(model._meta.db_table)
    if not _granted(model, "UPDATE", field.column):
        # An insert-only table (invoice lines): a new row pointing at clinic B's row.
        with tenant_context(clinic_a):
            copy = _copy_of(row_a, **{field.attname: foreign.pk})
        with tenant_context(clinic_a), pytest.raises(DatabaseError) as excinfo:
            _insert_bypassing_orm_guards(copy)
        assert "foreign key" in str(excinfo.value), str(excinfo.value)
        return
    with tenant_context(clinic_a), pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE {table} SET "{field.column}" = %s WHERE id = %s', [foreign.pk, row_a.pk]
            )
    message = str(excinfo.value)
    assert "foreign key" in message or "same clinic" in message, (
        f"{model._meta.label}.{field.name}: a reference to clinic B failed for another reason: "
        f"{message}"
    )


ISOLATION_CHECKS = [
    check_orm_reads_own_clinic_only,
    check_manager_filters_by_clinic,
    check_raw_sql_reads_own_clinic_only,
    check_base_manager_is_backstopped,
    check_update_and_delete_of_other_clinic_affect_nothing,
    check_insert_for_other_clinic_is_rejected,
    check_moving_a_row_to_other_clinic_is_rejected,
    check_without_context_nothing_is_visible_or_writable,
]


# --- people and their invitations ------------------------------------------------------------
# A person is global and may be invited by any clinic, so the people layer gets its own
# checks: an invitation reaches only its addressee and its own clinic, the addressee's path
# to it reads and never writes, and inviting someone shows the inviting clinic nothing of
# them until they accept.


def _invitation_to(clinic, email: str):
    from accounts.models import Invitation

    with tenant_context(clinic):
        return build(Invitation, email=email)


def check_invitations_reach_only_their_addressee(clinic_a, clinic_b) -> None:
    from accounts.models import Invitation
    from accounts.testing import create_user
    from tenants.context import user_context

    person, stranger = create_user(), create_user()
    to_person_a = _invitation_to(clinic_a, person.email)
    to_person_b = _invitation_to(clinic_b, person.email)
    to_someone_b = _invitation_to(clinic_b, "someone.else@example.com")
    with user_context(person), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_invitation")
        raw = _ids(cursor)
        orm = set(Invitation.for_current_person.values_list("pk", flat=True))
    assert raw == orm == {to_person_a.pk, to_person_b.pk}, (
        "a person reads exactly the invitations addressed to them"
    )
    assert to_someone_b.pk not in raw
    with user_context(stranger), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_invitation")
        assert _ids(cursor) == set(), "a stranger reads no invitation"
    # Within clinic A's context, acting as the person, clinic B's invitation to them stays
    # out of clinic A's (ORM) view.
    with tenant_context(clinic_a, user=person):
        assert set(Invitation.objects.values_list("pk", flat=True)) == {to_person_a.pk}


def check_the_addressee_path_never_writes(clinic_a, clinic_b) -> None:
    from accounts.testing import create_user
    from tenants.context import user_context

    person = create_user()
    invitation = _invitation_to(clinic_a, person.email)
    with user_context(person), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_invitation SET role = 'owner', declined_at = now() WHERE id = %s",
            [invitation.pk],
        )
        updated = cursor.rowcount
        cursor.execute("DELETE FROM accounts_invitation WHERE id = %s", [invitation.pk])
        deleted = cursor.rowcount
    assert (updated, deleted) == (0, 0), "the addressee changed an invitation outside a clinic"
    with user_context(person), pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO accounts_invitation (id, tenant_id, email, role, first_name, "
                "last_name, phone, secret_hash, created_at, expires_at, last_sent_at, "
                "send_count) VALUES (%s, %s, %s, 'owner', '', '', '', 'x', now(), now(), "
                "now(), 1)",
                [uuid.uuid4(), clinic_b.pk, person.email],
            )
    assert "row-level security" in str(excinfo.value)


def check_an_invited_person_stays_invisible_to_the_inviting_clinic(clinic_a, clinic_b) -> None:
    """Clinic A invites a member of clinic B: nothing about that person (their membership,
    their profile) becomes visible to clinic A until they accept."""
    from accounts.models import Membership, User
    from accounts.services import invitation_create
    from accounts.testing import add_member

    person = add_member(clinic_b, email="member.of.b@example.com", role="nurse").user
    owner_a = clinic_a.owner
    invitation_create(tenant=clinic_a, actor=owner_a, email=person.email, role="nurse")
    with tenant_context(clinic_a, user=owner_a):
        assert not Membership.objects.filter(user=person).exists()
        # The admin's "people of this clinic" (accounts.admin_mixins.scoped_choices).
        people = User.objects.filter(memberships__tenant_id=clinic_a.pk)
        assert person.pk not in set(people.values_list("pk", flat=True))
    with tenant_context(clinic_a), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_membership WHERE user_id = %s", [person.pk])
        assert cursor.fetchone()[0] == 0


PEOPLE_CHECKS = [
    check_invitations_reach_only_their_addressee,
    check_the_addressee_path_never_writes,
    check_an_invited_person_stays_invisible_to_the_inviting_clinic,
]
