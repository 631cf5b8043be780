"""An experiment, not a benchmark of `make bench`: what the people policy (accounts_user, kind
"people" in tenants/rls.py) costs the per-request membership check and the doctors list's
doctor+user join, with variants of that policy installed inside a transaction that is rolled
back (the database keeps its policies). Run it alone on a benchmark database:

    python bench/people_policy_experiment.py

Variants: as shipped; without the definer gate branch; the members branch read through a
plpgsql function (its plan cached per connection) instead of a sub-select, with and without
the gate; the person's own row only. Ratios are RLS on / RLS off (BYPASSRLS), medians.

Since accounts/0012 the API sends the check as a call of `clinic_membership_check()`, and the
recorded statement is that call: a role switch on the one connection makes PostgreSQL plan
the function's statement again each time, so this experiment's numbers compare with each
other only. The numbers of docs/performance.md it produced were taken before accounts/0012.
"""

# ruff: noqa
import sys, json, statistics, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common, datagen, workload

datagen.ensure(300, 1000, quiet=True)
from tenants import rls
from tenants.backend.base import PREFIX_STATEMENTS

clinics = datagen.bench_clinics()
qs = workload.capture(clinics[3], 3)
q = [x for x in qs if x.name.endswith(workload.MEMBERSHIP_CHECK)][0]
du = [x for x in qs if x.name.endswith("doctor+user")][0]
conn = workload.connect_admin()
conn.autocommit = False
cur = conn.cursor()


def timeit(query, role, n=600):
    cur.execute(f'SET ROLE "{role}"')
    ts = []
    for i in range(n):
        t = time.perf_counter()
        workload.run(cur, query)
        ts.append(time.perf_counter() - t)
    cur.execute("RESET ROLE")
    return statistics.median(ts[20:]) * 1e3


def measure(label):
    r = {}
    for name, query in (("check", q), ("doctor+user", du)):
        off = timeit(query, "clinic_platform")
        on = timeit(query, "clinic_app")
        off2 = timeit(query, "clinic_platform")
        on2 = timeit(query, "clinic_app")
        r[name] = (
            f"{(on + on2) / (off + off2):.2f}x ({(on + on2) / 2:.3f} vs {(off + off2) / 2:.3f})"
        )
    print(label, r)


cur.execute("BEGIN")
measure("current")
variants = {}
own = f"id = {rls.CURRENT_USER}"
members_fn = "id = ANY (((SELECT clinic_member_ids()))::uuid[])"
# The gate as accounts/0007 installed it (the owner read from the catalogue); accounts/0010
# ships it with the owner as a literal.
gate = rls._people_definer_gate(None)


def people(members, gate):
    parts = [own, members] + ([gate] if gate else [])
    return (
        [
            f"CREATE POLICY clinic_self ON accounts_user FOR ALL USING ({own}) WITH CHECK ({own})",
            f"CREATE POLICY clinic_members ON accounts_user FOR SELECT USING ({members})",
        ]
        + (
            [
                f"CREATE POLICY clinic_people_lookup ON accounts_user FOR ALL USING ({gate}) WITH CHECK ({gate})"
            ]
            if gate
            else []
        )
        + [
            f"CREATE POLICY clinic_isolation ON accounts_user AS RESTRICTIVE FOR ALL USING (({') OR ('.join(parts)})) WITH CHECK ({own})"
        ]
    )


fn = "CREATE OR REPLACE FUNCTION clinic_member_ids() RETURNS uuid[] LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN ARRAY(SELECT m.user_id FROM accounts_membership m WHERE m.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid); END $$"


def install(stmts):
    cur.execute("RESET ROLE")
    cur.execute(
        "DO $$ DECLARE p record; BEGIN FOR p IN SELECT policyname FROM pg_policies WHERE tablename='accounts_user' LOOP EXECUTE format('DROP POLICY %I ON accounts_user', p.policyname); END LOOP; END $$"
    )
    for s in stmts:
        cur.execute(s)


cur.execute(fn)
cur.execute("GRANT EXECUTE ON FUNCTION clinic_member_ids() TO PUBLIC")
members_sub = f"id = ANY (ARRAY(SELECT m.user_id FROM accounts_membership m WHERE m.tenant_id = {rls.CURRENT_TENANT}))"
install(people(members_sub, gate))
measure("reinstalled same")
install(people(members_sub, None))
measure("no gate")
install(people(members_fn, gate))
measure("fn members + gate")
install(people(members_fn, None))
measure("fn members, no gate")
install(people("false", None))
measure("self only")
cur.execute("ROLLBACK")
