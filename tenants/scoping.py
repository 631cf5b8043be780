"""The clinic-owned base model, the scoped managers and same-clinic foreign keys.

Design invariants 2, 3 and 8: every clinic-owned table has a `tenant_id`, every queryset is
filtered by the clinic in context (and raises `TenantContextMissing` without one), and a row
can only reference rows of its own clinic. Row-level security in PostgreSQL backs all of this
up; the ORM filter is kept next to it because the literal `tenant_id = X` lets PostgreSQL use
the `(tenant_id, …)` indexes directly.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from tenants.backend.compiler import MISSING_FLAG
from tenants.context import DbContext, TenantMismatch, current, require_tenant_id


def refuse_when_run(queryset: models.QuerySet) -> models.QuerySet:
    """Mark a queryset built with no clinic in context: it raises TenantContextMissing when
    it is turned into SQL (see tenants.backend.compiler)."""
    setattr(queryset.query, MISSING_FLAG, True)
    return queryset


class TenantQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.assign_tenant()
        return super().bulk_create(objs, *args, **kwargs)


class ScopedManager(models.Manager):
    """The one body of every scoped manager; subclasses say which rows in `scope_filter`.

    Inside `platform_access()` nothing is filtered (the router sends those queries to the
    platform role, which is audited). Otherwise `scope_filter` turns the context into a
    filter; when it returns None, the context lacks what the scope needs, and the queryset is
    marked so that it raises `TenantContextMissing` as soon as it would run
    (tenants.backend.compiler). Only building such a queryset, as serializers, forms and
    django-filter do at import time, is allowed. An empty `Q()` adds no ORM filter and leaves
    the rows to row-level security alone.
    """

    def get_queryset(self):
        queryset = super().get_queryset()
        ctx = current()
        if ctx.platform:
            return queryset
        scope = self.scope_filter(ctx)
        if scope is None:
            return refuse_when_run(queryset)
        return queryset.filter(scope) if scope else queryset

    def scope_filter(self, ctx: DbContext) -> Q | None:
        """The rows of the clinic in context (None without one). Override for another scope."""
        if ctx.tenant_id is None:
            return None
        return Q(tenant_id=ctx.tenant_id)


class TenantManager(ScopedManager.from_queryset(TenantQuerySet)):
    """Default manager of every clinic-owned model: only the current clinic's rows."""

    def none(self):
        # An empty queryset reads nothing, so it needs no clinic (schema generation, forms).
        return super().get_queryset().none()


class TenantOwnedModel(models.Model):
    """Base of every clinic-owned model.

    Adding one takes three steps (docs/architecture.md): subclass this, reference other
    clinic-owned models with `TenantForeignKey`, and add `EnableTenantRLS` (plus
    `AddTenantForeignKey` per reference) to the migration. `manage.py check_rls` and the
    generated two-clinic test suite catch a missed step.
    """

    # How row-level security protects the table; see tenants.rls.POLICY_KINDS.
    rls_kind = "tenant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No separate index: UNIQUE (tenant_id, id), added by EnableTenantRLS, leads with it.
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.CASCADE,
        editable=False,
        db_index=False,
        related_name="+",
    )

    objects = TenantManager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.assign_tenant()
        return super().save(*args, **kwargs)

    def full_clean(self, *args, **kwargs):
        self.assign_tenant()
        return super().full_clean(*args, **kwargs)

    def clean_fields(self, exclude=None):
        # The clinic comes from the verified context; checking that its row exists would
        # cost a query on every save. Unique constraints that include `tenant` are still
        # validated (validate_unique/validate_constraints do not use this exclusion).
        return super().clean_fields(exclude={*(exclude or ()), "tenant"})

    def assign_tenant(self) -> None:
        """Take the clinic from the context; refuse a row of another clinic."""
        ctx = current()
        if self.tenant_id is None:
            self.tenant_id = require_tenant_id() if not ctx.platform else None
            if self.tenant_id is None:
                raise TenantMismatch("Inside platform_access a clinic-owned row needs a tenant.")
        elif ctx.tenant_id is not None and self.tenant_id != ctx.tenant_id:
            raise TenantMismatch(
                f"{type(self).__name__} belongs to another clinic than the one in context."
            )


class SharedCatalogModel(models.Model):
    """A shared catalogue with no clinic column: a reference table in a distributed cluster.

    Every clinic reads all of its rows and none writes them (row-level security kind
    "reference"); the platform loads it inside platform_access. A clinic's own entries live
    in a clinic-owned table of their own, so that no clinic table mixes shared rows
    (`tenant_id` NULL) with a clinic's rows (docs/scale-out.md).
    """

    rls_kind = "reference"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True

    @property
    def is_global(self) -> bool:
        return True


class TenantForeignKey(models.ForeignKey):
    """A reference to another clinic-owned row of the same clinic.

    The database enforces "same clinic" with a composite foreign key
    `(tenant_id, <column>) → target(tenant_id, id)` and an index `(tenant_id, <column>)`,
    both created by the `AddTenantForeignKey` migration operation. The single-column
    constraint and index Django would add are left out: the composite ones cover them.
    """

    def __init__(self, to, on_delete, **kwargs):
        kwargs.setdefault("db_constraint", False)
        kwargs.setdefault("db_index", False)
        super().__init__(to, on_delete, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("db_constraint") is False:
            del kwargs["db_constraint"]
        if kwargs.get("db_index") is False:
            del kwargs["db_index"]
        return name, path, args, kwargs


class CatalogForeignKey(models.ForeignKey):
    """Historical: a reference to a mixed catalogue row (shared or the same clinic's), checked
    by a trigger that `AddTenantForeignKey` installed.

    No model uses it any more: the shared medicines moved to a reference table (issue 17) and
    a line references either that table or the clinic's own medicines with a composite key.
    It stays because clinical migration 0003 names it.
    """
