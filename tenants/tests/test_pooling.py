"""The start-up checks refuse settings that would break the per-transaction clinic context
behind a pooler (tenants.pooling), and nothing in the code sets the clinic for a session."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections

from tenants import dbroles
from tenants.pooling import configuration_problems, session_context_problems

ROOT = Path(__file__).resolve().parents[2]


def _databases(**changes):
    databases = copy.deepcopy(settings.DATABASES)
    for key, value in changes.items():
        databases["default"].setdefault("OPTIONS", {})[key] = value
    return databases


def test_the_projects_own_settings_pass():
    assert configuration_problems() == []


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("server_side_binding", True, "server_side_binding"),
        ("prepare_threshold", 5, "prepare_threshold"),
        ("options", "-c app.tenant_id=3f1b0c2e-0000-4000-8000-000000000000", "connection options"),
    ],
)
def test_settings_that_break_pooling_are_refused(option, value, words):
    problems = configuration_problems(_databases(**{option: value}))
    assert len(problems) == 1 and words in problems[0]


def test_transaction_pooling_requires_server_side_cursors_off(settings):
    settings.DB_POOL_MODE = "transaction"
    databases = copy.deepcopy(settings.DATABASES)
    databases["default"]["DISABLE_SERVER_SIDE_CURSORS"] = False
    problems = configuration_problems(databases)
    assert any("DISABLE_SERVER_SIDE_CURSORS" in p for p in problems)
    databases["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    assert not [p for p in configuration_problems(databases) if "'default'" in p]


def test_a_fresh_session_carries_no_clinic(db):
    assert session_context_problems("default") == []


def test_a_session_level_clinic_default_is_refused(live_db):
    """`ALTER ROLE … SET app.tenant_id` would give every session of the runtime role a clinic
    before its transaction sends one: the check must see it."""
    admin = dbroles.conninfo_from_url(settings.DATABASE_ADMIN_URL)
    role = settings.DATABASES["default"]["USER"]
    database = settings.DATABASES["default"]["NAME"]
    statement = "ALTER ROLE {} IN DATABASE {} {}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL(statement).format(
                psycopg.sql.Identifier(role),
                psycopg.sql.Identifier(database),
                psycopg.sql.SQL("SET app.tenant_id = '3f1b0c2e-0000-4000-8000-000000000000'"),
            )
        )
    try:
        connections["default"].close()
        problems = session_context_problems("default")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL(statement).format(
                    psycopg.sql.Identifier(role),
                    psycopg.sql.Identifier(database),
                    psycopg.sql.SQL("RESET app.tenant_id"),
                )
            )
        connections["default"].close()
    assert any("session-level default" in p for p in problems), problems


# A session-level `SET app.…` or `set_config('app.…', …, false)` would outlive its transaction
# on a pooled connection and hand one clinic's context to the next client.
_SESSION_SET = re.compile(
    r"set_config\(\s*'app\.\w+'\s*,[^)]*,\s*false\s*\)|\bSET\s+(?:SESSION\s+)?app\.\w+",
    re.IGNORECASE,
)


def _code_strings(path: Path):
    """String literals of a module that are not docstrings: the SQL it can send."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_code_sets_the_clinic_for_a_whole_session():
    offenders = []
    packages = [p for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name != "bench"]
    assert {"tenants", "accounts", "clinical"} <= {p.name for p in packages}
    for package in packages:
        for path in package.rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            for number, text in _code_strings(path):
                if _SESSION_SET.search(text):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {text.strip()[:80]}")
    assert offenders == []


def test_the_session_set_pattern_catches_both_forms():
    assert _SESSION_SET.search("SELECT set_config('app.tenant_id', %s, false)")
    assert _SESSION_SET.search("cursor.execute('SET app.tenant_id = %s')")
    assert not _SESSION_SET.search("SET LOCAL app.tenant_id = '…'")
    assert not _SESSION_SET.search("SELECT set_config('app.tenant_id', %s, true)")
