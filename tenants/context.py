"""The tenant context: which clinic (and which person) the current code acts for.

The context lives in a `ContextVar`, so it belongs to one thread or one asyncio task and is
never shared between concurrent requests. It reaches PostgreSQL only as
`SET LOCAL app.tenant_id = …` *inside* the transaction that runs the queries (see
`tenants.backend`): the database backend sends it in the same round trip as the first query
of each transaction, and again whenever the context changes inside a transaction. Nothing is
ever set at session level, so a pooled or persistent connection cannot carry one request's
clinic into the next (design invariant 6).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace

from django.db import DEFAULT_DB_ALIAS, transaction


class TenantContextMissing(RuntimeError):
    """Raised when clinic-owned data is touched with no clinic in context."""


class TenantMismatch(RuntimeError):
    """Raised when a row of one clinic is saved while another clinic is in context."""


@dataclass(frozen=True)
class DbContext:
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    # True only inside `tenants.platform.platform_access(...)`: queries go to the platform
    # alias (BYPASSRLS) and the scoped managers stop filtering.
    platform: bool = False

    def settings_pair(self) -> tuple[str, str]:
        """The values sent as app.tenant_id and app.user_id ('' means none)."""
        return (
            str(self.tenant_id) if self.tenant_id else "",
            str(self.user_id) if self.user_id else "",
        )


_EMPTY = DbContext()
_current: ContextVar[DbContext] = ContextVar("clinic_db_context", default=_EMPTY)


def _as_uuid(value) -> uuid.UUID | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value
    pk = getattr(value, "pk", value)
    # uuid.UUID() rejects anything that is not a UUID, so a context value can never carry
    # SQL: the backend inlines its canonical text form.
    return pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk))


def current() -> DbContext:
    return _current.get()


def current_tenant_id() -> uuid.UUID | None:
    return _current.get().tenant_id


def require_tenant_id() -> uuid.UUID:
    tenant_id = _current.get().tenant_id
    if tenant_id is None:
        raise TenantContextMissing(
            "No clinic in context: wrap the code in tenant_context(tenant), or use "
            "platform_access(reason=...) for deliberate cross-clinic work."
        )
    return tenant_id


def activate(tenant=None, *, user=None) -> Token:
    """Set the context for the rest of a request; the caller must `deactivate(token)`."""
    return _current.set(DbContext(tenant_id=_as_uuid(tenant), user_id=_as_uuid(user)))


def deactivate(token: Token) -> None:
    _current.reset(token)


@contextmanager
def _scoped(ctx: DbContext) -> Iterator[DbContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextmanager
def tenant_context(tenant, *, user=None, using: str = DEFAULT_DB_ALIAS) -> Iterator[uuid.UUID]:
    """Act for one clinic inside a transaction (opened here, or joined when one is open).

    `tenant` is a Tenant, or its id. Leaving the block restores the previous context; the
    backend re-sends the previous value to PostgreSQL before the next query, so a clinic set
    inside an outer transaction never outlives its block.
    """
    tenant_id = _as_uuid(tenant)
    if tenant_id is None:
        raise TenantContextMissing("tenant_context() needs a clinic.")
    outer = _current.get()
    user_id = _as_uuid(user) if user is not None else outer.user_id
    with _scoped(DbContext(tenant_id=tenant_id, user_id=user_id)), transaction.atomic(using=using):
        yield tenant_id


@contextmanager
def user_context(user, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[uuid.UUID]:
    """Act as one person with no clinic yet: lets login read that person's memberships."""
    user_id = _as_uuid(user)
    with _scoped(DbContext(user_id=user_id)), transaction.atomic(using=using):
        yield user_id


@contextmanager
def person_context(user) -> Iterator[uuid.UUID]:
    """Like user_context(), without opening a transaction: for a single read (the backend
    sends the context with that statement), so the per-request membership check costs no
    savepoint round trips."""
    with _scoped(DbContext(user_id=_as_uuid(user))):
        yield _as_uuid(user)


@contextmanager
def no_tenant() -> Iterator[None]:
    """Explicitly drop any clinic from the context (used by tests and public views)."""
    with _scoped(_EMPTY):
        yield


@contextmanager
def _platform_scope() -> Iterator[None]:
    # Only tenants.platform.platform_access() may call this: it writes the audit entry.
    with _scoped(replace(_EMPTY, platform=True, user_id=_current.get().user_id)):
        yield
