"""SQL compilers that refuse a clinic-owned queryset built with no clinic in context.

`TenantManager.get_queryset()` marks its query when no clinic is in context instead of
raising at once: building a queryset is harmless (DRF serializers, forms and django-filter
build them at import time or to introspect the model), running one is not. Whenever such a
query is turned into SQL (directly, or as a subquery of another), it raises
`TenantContextMissing`, so it can never run without the clinic filter.
"""

from __future__ import annotations

from django.db.backends.postgresql import compiler

from tenants.context import TenantContextMissing

MISSING_FLAG = "tenant_context_missing"


class _TenantGuard:
    def as_sql(self, *args, **kwargs):
        if getattr(self.query, MISSING_FLAG, False):
            raise TenantContextMissing(
                f"A {self.query.model.__name__} queryset was built with no clinic in context: "
                "build and run it inside tenant_context(tenant), or platform_access()."
            )
        return super().as_sql(*args, **kwargs)


class SQLCompiler(_TenantGuard, compiler.SQLCompiler):
    pass


class SQLInsertCompiler(_TenantGuard, compiler.SQLInsertCompiler):
    pass


class SQLDeleteCompiler(_TenantGuard, compiler.SQLDeleteCompiler):
    pass


class SQLUpdateCompiler(_TenantGuard, compiler.SQLUpdateCompiler):
    pass


class SQLAggregateCompiler(_TenantGuard, compiler.SQLAggregateCompiler):
    pass
