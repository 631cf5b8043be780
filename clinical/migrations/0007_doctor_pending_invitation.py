"""A doctor invited but not yet joined has no person: the profile hangs on the invitation."""

import django.db.models.deletion
import tenants.scoping
from django.conf import settings
from django.db import migrations, models

from tenants.operations import AddTenantForeignKey


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_invitation_consent'),
        ('clinical', '0006_legacy_numbers_prices'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='doctor',
            name='invitation',
            field=tenants.scoping.TenantForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='doctor_profiles', to='accounts.invitation'),
        ),
        migrations.AlterField(
            model_name='doctor',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='doctor_profiles', to=settings.AUTH_USER_MODEL),
        ),
        AddTenantForeignKey(model_name='doctor', field_name='invitation'),
    ]
