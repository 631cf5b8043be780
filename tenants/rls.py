"""Row-level security as code: the policies of each kind of table, and the SQL that installs
them. Migration operations (`tenants.operations`) and the drift check (`tenants.checks`)
both read the same specifications, so what is checked is exactly what is installed.

Every policy reads the clinic as `(SELECT NULLIF(current_setting('app.tenant_id', true),
'')::uuid)`: a missing setting is NULL, an emptied one (after a transaction that set it) is
'' and becomes NULL, and `tenant_id = NULL` matches nothing. So without a clinic in context
the database returns no rows and refuses writes (design invariants 3 and 4). The sub-select
makes PostgreSQL evaluate it once per statement.

Each table gets a permissive policy that grants access and a RESTRICTIVE policy with the same
bare equality: a permissive policy added later (by mistake) can never widen access, and
dropping either one still leaves the clinic boundary in place. PostgreSQL folds the two equal
predicates together, so the planner sees one `tenant_id = X` and keeps using the indexes.

The tables' keys (composite same-clinic foreign keys, primary keys `(tenant_id, id)`) are
tenants.keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

CURRENT_TENANT = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
CURRENT_USER = "(SELECT NULLIF(current_setting('app.user_id', true), '')::uuid)"
POLICY_PREFIX = "clinic_"


@dataclass(frozen=True)
class Policy:
    name: str
    command: str  # ALL, SELECT, INSERT, UPDATE or DELETE
    using: str | None
    check: str | None
    restrictive: bool = False

    def create_sql(self, table: str) -> str:
        parts = [
            f'CREATE POLICY "{self.name}" ON "{table}"',
            "AS RESTRICTIVE" if self.restrictive else "AS PERMISSIVE",
            f"FOR {self.command} TO PUBLIC",
        ]
        if self.using is not None:
            parts.append(f"USING ({self.using})")
        if self.check is not None:
            parts.append(f"WITH CHECK ({self.check})")
        return " ".join(parts)


def _same_clinic(column: str = "tenant_id") -> str:
    return f"{column} = {CURRENT_TENANT}"


def policies_for(
    kind: str,
    *,
    membership_table: str = "accounts_membership",
    user_table: str = "accounts_user",
    owner: str | None = None,
) -> list[Policy]:
    """The exact set of policies a table of this kind carries. `owner` (kind "people") is the
    role name its definer gate names; None leaves the marker enable_sql() fills in."""
    mine = _same_clinic()
    if kind == "tenant":
        return [
            Policy("clinic_access", "ALL", mine, mine),
            Policy("clinic_isolation", "ALL", mine, mine, restrictive=True),
        ]
    if kind == "catalog":
        # Shared rows (tenant_id NULL) are readable by every clinic and writable by none.
        shared_or_mine = f"(tenant_id IS NULL OR {mine})"
        return [
            Policy("clinic_access", "ALL", mine, mine),
            Policy("clinic_catalog_read", "SELECT", shared_or_mine, None),
            Policy("clinic_isolation", "ALL", shared_or_mine, mine, restrictive=True),
        ]
    if kind == "membership":
        # A person can read their own memberships in every clinic, so login and the clinic
        # switcher work without bypassing row-level security; writes stay per clinic.
        own = f"user_id = {CURRENT_USER}"
        return [
            Policy("clinic_access", "ALL", mine, mine),
            Policy("clinic_own_memberships", "SELECT", own, None),
            Policy("clinic_isolation", "ALL", f"({mine} OR {own})", mine, restrictive=True),
        ]
    if kind == "invitation":
        # A person can read the invitations addressed to their own e-mail in every clinic
        # (the list they accept or decline from); writes stay per clinic, so accepting or
        # declining runs in the inviting clinic's context.
        own = f"email = (SELECT u.email FROM {user_table} u WHERE u.id = {CURRENT_USER})"
        return [
            Policy("clinic_access", "ALL", mine, mine),
            Policy("clinic_own_invitations", "SELECT", own, None),
            Policy("clinic_isolation", "ALL", f"({mine} OR {own})", mine, restrictive=True),
        ]
    if kind == "personal":
        # A person's own secrets (two-factor devices, recovery codes): no clinic sees them,
        # only code acting for that very person (login, the account page).
        own = f"user_id = {CURRENT_USER}"
        return [
            Policy("clinic_own_rows", "ALL", own, own),
            Policy("clinic_isolation", "ALL", own, own, restrictive=True),
        ]
    if kind == "people":
        return _people_policies(user_table, owner)
    if kind == "people_0007":
        return _people_policies_0007(membership_table, user_table)
    if kind == "reference":
        # A shared catalogue (the shared medicines, the shared dental templates): a table with
        # no clinic column, copied whole to every node of a distributed cluster. Every clinic
        # reads all of it and none writes it: with no INSERT, UPDATE or DELETE policy the
        # runtime role's writes are refused, and the platform role (BYPASSRLS, inside
        # platform_access) loads it.
        return [
            Policy("clinic_shared_read", "SELECT", "true", None),
            Policy("clinic_isolation", "ALL", "true", "false", restrictive=True),
        ]
    if kind in ("tenant_root", "tenant_root_bootstrap"):
        # A clinic's own row, in that clinic's context; nothing else (every clinic inside
        # platform_access). A bare equality on the primary key, with no sub-select: the
        # per-request membership check reads the clinic in the clinic's own context (the
        # token's clinic, accounts.selectors), and the few places that list a person's
        # clinics with no clinic in context (login's choice, the switcher, /me) read each
        # clinic's row in that clinic's context, for the clinics whose active membership the
        # person can see (accounts.selectors.memberships_of). "tenant_root_bootstrap" is the
        # name tenants' first migration used, before memberships existed.
        this_clinic = _same_clinic("id")
        return [
            Policy("clinic_access", "ALL", this_clinic, this_clinic),
            Policy("clinic_isolation", "ALL", this_clinic, this_clinic, restrictive=True),
        ]
    if kind == "tenant_root_with_member_clinics":
        # Until accounts/0009: "this clinic, or a clinic the person in context is an active
        # member of", a sub-select on memberships (themselves under row-level security)
        # planned on every statement that reads the clinics table: 1.85x on the per-request
        # membership check. Kept so that migration can be reversed.
        this_clinic = _same_clinic("id")
        member_of = (
            f"id IN (SELECT m.tenant_id FROM {membership_table} m "
            f"WHERE m.user_id = {CURRENT_USER} AND m.is_active)"
        )
        return [
            Policy("clinic_access", "ALL", this_clinic, this_clinic),
            Policy("clinic_member_clinics", "SELECT", member_of, None),
            Policy(
                "clinic_isolation",
                "ALL",
                f"({this_clinic} OR {member_of})",
                this_clinic,
                restrictive=True,
            ),
        ]
    if kind == "audit":
        # Append-only: read your clinic's events, add events for your clinic. Events of no
        # clinic (a failed login) go to the platform's own table ("platform_audit"). No UPDATE
        # or DELETE policy exists, and the migration revokes those privileges as well.
        return [
            Policy("clinic_read", "SELECT", mine, None),
            Policy("clinic_append", "INSERT", None, mine),
            Policy("clinic_isolation", "ALL", mine, mine, restrictive=True),
        ]
    if kind == "platform_audit":
        # The platform's own audit events (no clinic column): any code may append one (a
        # failed login has no clinic, an operator's action may name none), no clinic reads
        # any, and nobody changes one (no UPDATE or DELETE policy; the migration revokes
        # those privileges too). The platform role reads them (BYPASSRLS, platform_access).
        return [
            Policy("clinic_append", "INSERT", None, "true"),
            Policy("clinic_isolation", "ALL", "false", "true", restrictive=True),
        ]
    if kind == "outbox":
        # The e-mail outbox (tenants.outbox), a platform table: any code may queue an e-mail
        # for its own clinic or for none (a password reset has no clinic). Column privileges
        # let the runtime role read only the queue's progress (status and times: the backlog),
        # never a recipient, a clinic or a message, and it has no UPDATE or DELETE privilege.
        # The worker reads and updates rows as the platform role, inside platform_access().
        mine_or_none = f"(tenant_id IS NULL OR {mine})"
        return [
            Policy("clinic_enqueue", "INSERT", None, mine_or_none),
            Policy("clinic_progress", "SELECT", "true", None),
            Policy("clinic_isolation", "ALL", "true", mine_or_none, restrictive=True),
        ]
    raise ValueError(f"Unknown row-level security kind {kind!r}.")


# The people table's own definer gate: true only inside the credentials functions that look a
# person up by e-mail or set their admin flags (tenants.people_sql.PEOPLE_FUNCTIONS). Those run as
# the table's owner, whom FORCE row-level security filters too, and raise this flag for the one
# statement that needs it. Either half alone opens nothing: the runtime role can set the flag
# but is never the owner, and the owner (migrations) does not set it.
PEOPLE_LOOKUP_FLAG = "app.people_lookup"
# The owner's role name is written into the policy as a literal when it is installed (a
# catalogue sub-select in the policy cost every statement on people a plan of its own):
# enable_sql() puts the table's actual owner in place of this marker, and check_rls expects the
# literal of the actual owner, so a policy naming any other role is reported as drift.
TABLE_OWNER = "@people_table_owner@"
# The members of the clinic in context, through a plpgsql function (SECURITY INVOKER, so it
# sees only what the caller's own row-level security on memberships lets it see) whose plan
# is cached per session; the scalar sub-select makes it one InitPlan per statement.
# tenants.people_sql.INVOKER_FUNCTIONS holds its body, check_rls verifies it.
MEMBER_IDS_FUNCTION = "clinic_member_ids"
PEOPLE_KINDS = ("people", "people_0007")


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _people_definer_gate(owner: str | None) -> str:
    owner_sql = TABLE_OWNER if owner is None else sql_literal(owner)
    return f"(current_setting('{PEOPLE_LOOKUP_FLAG}', true) = 'on' AND current_user = {owner_sql})"


def _people_policies(user_table: str, owner: str | None) -> list[Policy]:
    """People (`accounts_user`, global identities): a person is visible to code acting as
    that person, and to a clinic's context when they have a membership in that clinic
    (active or not: deactivated members stay on the team page and on the records they
    wrote). Invitees are not: until they accept, the clinic sees only what it typed (issue
    12, item 1), so the database must not tell it whether the address has an account.

    Only the person themself writes their row (sign-up inserts it under the new person's
    own id); a clinic reads its members and changes nothing about them. The members come
    from clinic_member_ids(), which reads the memberships of the clinic in context under the
    caller's own row-level security; it is not recursive (the memberships' policies never
    read people).
    """
    # The clinic's member ids, read once per statement (an InitPlan calling the function,
    # whose own query uses the memberships' (tenant_id, user_id) index), then a cheap array
    # test per person. A hashed `id IN (...)` is charged its whole build again in every inner
    # loop of a nested-loop join, which pushed the planner into reading every person on the
    # platform instead.
    members = f"id = ANY ((SELECT {MEMBER_IDS_FUNCTION}())::uuid[])"
    return _people_policy_set(members, _people_definer_gate(owner))


def _people_policies_0007(membership_table: str, user_table: str) -> list[Policy]:
    """The people policies as accounts/0007 installed them (kept for that migration and for
    reversing accounts/0010): the members by a sub-select on memberships, the owner read
    from the catalogue. What they let through is the same as _people_policies()."""
    members = (
        f"id = ANY (ARRAY(SELECT m.user_id FROM {membership_table} m "
        f"WHERE m.tenant_id = {CURRENT_TENANT}))"
    )
    gate = (
        f"(current_setting('{PEOPLE_LOOKUP_FLAG}', true) = 'on' AND current_user = "
        f"(SELECT pg_get_userbyid(c.relowner) FROM pg_class c "
        f"WHERE c.oid = '{user_table}'::regclass))"
    )
    return _people_policy_set(members, gate)


def _people_policy_set(members: str, gate: str) -> list[Policy]:
    """The people policies around one expression of "the clinic's members" and one of the
    definer gate: the person reads and writes their own row, a clinic reads its members, the
    gate opens the lookups, and a restrictive policy bounds all three."""
    own = f"id = {CURRENT_USER}"
    return [
        Policy("clinic_self", "ALL", own, own),
        Policy("clinic_members", "SELECT", members, None),
        Policy("clinic_people_lookup", "ALL", gate, gate),
        Policy(
            "clinic_isolation",
            "ALL",
            f"({own} OR {members} OR {gate})",
            f"({own} OR {gate})",
            restrictive=True,
        ),
    ]


def _with_table_owner(table: str, statement: str) -> str:
    """Run `statement` with TABLE_OWNER replaced by the literal of `table`'s owner."""
    if TABLE_OWNER not in statement:
        return statement
    return (
        "DO $people$ DECLARE owner_literal text := (SELECT quote_literal(pg_get_userbyid("
        f"c.relowner)) FROM pg_class c WHERE c.oid = '\"{table}\"'::regclass); BEGIN "
        f"EXECUTE replace($policy${statement}$policy$, '{TABLE_OWNER}', owner_literal); "
        "END $people$"
    )


POLICY_KINDS = (
    "tenant",
    "catalog",
    "membership",
    "tenant_root",
    "audit",
    "personal",
    "invitation",
    "outbox",
    "people",
    "reference",
    "platform_audit",
    # Only for accounts/0007 and the reversal of accounts/0010 (no model declares it).
    "people_0007",
)


def tenant_column(kind: str) -> str:
    """The column that bounds a table's rows: the clinic's id, or the person's for "personal"."""
    if kind == "personal":
        return "user_id"
    if kind in ("reference", "platform_audit"):
        return ""
    return "id" if kind.startswith("tenant_root") or kind in PEOPLE_KINDS else "tenant_id"


def constraint_name(table: str, suffix: str) -> str:
    """A PostgreSQL identifier (at most 63 bytes) that stays stable and unique."""
    name = f"{table}_{suffix}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: 63 - len(suffix) - 10]}_{digest}_{suffix}"


def tenant_unique_name(table: str) -> str:
    return constraint_name(table, "tenant_id_uniq")


def enable_sql(table: str, kind: str) -> list[str]:
    statements = [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
    ]
    statements += _drop_clinic_policies_sql(table)
    statements += [
        _with_table_owner(table, policy.create_sql(table)) for policy in policies_for(kind)
    ]
    if tenant_column(kind) == "tenant_id" and kind not in ("audit", "outbox"):
        # The target of composite foreign keys, and the index for "all rows of a clinic".
        name = tenant_unique_name(table)
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{name}' "
            f"AND conrelid = '\"{table}\"'::regclass) THEN "
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE (tenant_id, id); '
            "END IF; END $$"
        )
    return statements


def disable_sql(table: str, kind: str) -> list[str]:
    statements = _drop_clinic_policies_sql(table)
    if tenant_column(kind) == "tenant_id" and kind not in ("audit", "outbox"):
        statements.append(
            f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{tenant_unique_name(table)}"'
        )
    statements += [
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]
    return statements


def _drop_clinic_policies_sql(table: str) -> list[str]:
    # Dropping every policy we manage (by prefix) makes the operation idempotent and lets a
    # later migration replace one kind of policy set with another.
    return [
        "DO $$ DECLARE p record; BEGIN "
        f"FOR p IN SELECT policyname FROM pg_policies WHERE schemaname = current_schema() "
        f"AND tablename = '{table}' AND policyname LIKE '{POLICY_PREFIX}%' LOOP "
        f"EXECUTE format('DROP POLICY %I ON %I', p.policyname, '{table}'); "
        "END LOOP; END $$"
    ]
