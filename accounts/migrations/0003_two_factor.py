"""Two-factor sign-in: per-person state and hashed recovery codes, and row-level security
("personal": only the person themself) on them and on django-otp's TOTP device table."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models

from tenants.operations import EnableTenantRLS


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_invitation'),
        ('otp_totp', '0003_add_timestamps'),
    ]

    operations = [
        migrations.CreateModel(
            name='TwoFactorState',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='two_factor_state', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('required_since', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name='RecoveryCode',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('salt', models.CharField(max_length=32)),
                ('digest', models.CharField(max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recovery_codes', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['created_at'],
                'indexes': [models.Index(fields=['user', 'used_at'], name='recoverycode_user_used')],
            },
        ),
        EnableTenantRLS(model_name='twofactorstate', kind='personal'),
        EnableTenantRLS(model_name='recoverycode', kind='personal'),
        EnableTenantRLS(model_name='totpdevice', kind='personal', app_label='otp_totp'),
    ]
