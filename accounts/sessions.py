"""A database session engine that stores a digest of the session key, never the key.

The session key in the cookie is a bearer secret: whoever holds it is signed in. With
Django's own database engine, reading `django_session` (a foothold in the runtime role can)
gives every signed-in person's session. Here the table's `session_key` column holds the
first 40 hex digits of the key's SHA-256 (160 bits; the column is 40 characters wide), which
authenticates nothing; the cookie still carries the key, and every lookup digests it first.
Session keys are 32 random characters, far beyond guessing, so a plain digest is enough.

SESSION_ENGINE = "accounts.sessions" (clinic_saas/settings.py).
"""

from __future__ import annotations

import hashlib
import logging

from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone


def key_digest(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()[:40]


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        try:
            return self.model.objects.get(
                session_key=key_digest(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as exc:
            if isinstance(exc, SuspiciousOperation):
                logging.getLogger(f"django.security.{exc.__class__.__name__}").warning(str(exc))
            self._session_key = None

    async def _aget_session_from_db(self):
        from asgiref.sync import sync_to_async

        return await sync_to_async(self._get_session_from_db)()

    def exists(self, session_key):
        return self.model.objects.filter(session_key=key_digest(session_key)).exists()

    async def aexists(self, session_key):
        return await self.model.objects.filter(session_key=key_digest(session_key)).aexists()

    def create_model_instance(self, data):
        return self.model(
            session_key=key_digest(self._get_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data):
        return self.model(
            session_key=key_digest(await self._aget_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=key_digest(session_key)).delete()

    async def adelete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        await self.model.objects.filter(session_key=key_digest(session_key)).adelete()
