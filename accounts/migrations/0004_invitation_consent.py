"""Invitations without people (issue 12, items 1 and 2): an invitation keeps what the clinic
typed and has no membership until it is accepted; a person can read the invitations
addressed to their own e-mail in every clinic (row-level security kind "invitation")."""

import django.db.models.deletion
import tenants.scoping
from django.db import migrations, models

from tenants.operations import EnableTenantRLS


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_two_factor'),
        ('tenants', '0003_idempotencykey'),
    ]

    operations = [
        migrations.AddField(
            model_name='invitation',
            name='declined_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='invitation',
            name='first_name',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='invitation',
            name='last_name',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='invitation',
            name='phone',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name='invitation',
            name='membership',
            field=tenants.scoping.TenantForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='invitations', to='accounts.membership'),
        ),
        migrations.AddIndex(
            model_name='invitation',
            index=models.Index(fields=['email'], name='invitation_email'),
        ),
        migrations.AddConstraint(
            model_name='invitation',
            constraint=models.UniqueConstraint(condition=models.Q(('accepted_at__isnull', True), ('declined_at__isnull', True), ('revoked_at__isnull', True)), fields=('tenant', 'email'), name='invitation_tenant_open_email_uniq'),
        ),
        EnableTenantRLS(model_name='invitation', kind='invitation', previous_kind='tenant'),
    ]
