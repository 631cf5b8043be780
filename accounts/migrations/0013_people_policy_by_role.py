"""Issue 17: the people policies by role. The definer gate (the owner's credentials functions)
is addressed to the owner role alone, so the runtime role's statements no longer carry it;
each role gets a restrictive policy that is exactly its own permissive set, and a restrictive
policy for PUBLIC lets no other role read a person (tenants.rls, kind "people"; the set of
accounts/0010 is kind "people_0010"). Reading people in a join costs 15-25 us less per
statement (docs/performance.md); what the runtime role and the owner may read is unchanged.
"""

from __future__ import annotations

from django.db import migrations

from tenants.operations import EnableTenantRLS


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_membership_check_function"),
    ]

    operations = [
        EnableTenantRLS("user", kind="people", previous_kind="people_0010"),
    ]
