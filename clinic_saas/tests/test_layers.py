"""The one-way layers (docs/architecture.md): a package imports only packages below it.

clinic_saas > clinics > clinical > accounts > tenants > core, checked by import-linter's
layers contract in pyproject.toml, on every import, function-local ones included. `make lint`
runs the same contract (`lint-imports`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # The console script beside this interpreter; the packages are found from `cwd`.
    script = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(script), "--no-cache", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_import_goes_up_a_layer():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_catches_an_import_that_goes_up(tmp_path):
    # The same contract, on a copy of the project's layer list with one upward import
    # (the kernel importing the clinic layer): it must break, or the check above proves
    # nothing.
    config = (ROOT / "pyproject.toml").read_text()
    contract = config[config.index("[tool.importlinter]") :]
    (tmp_path / "pyproject.toml").write_text(contract)
    for package in ("clinic_saas", "clinics", "clinical", "accounts", "tenants", "core"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "clinics" / "services.py").write_text("")
    # Test modules may import any layer (the contract's ignore rule needs one to match).
    (tmp_path / "tenants" / "tests").mkdir()
    (tmp_path / "tenants" / "tests" / "__init__.py").write_text("")
    (tmp_path / "tenants" / "tests" / "test_x.py").write_text("import clinics.services\n")
    (tmp_path / "tenants" / "kernel.py").write_text(
        textwrap.dedent(
            """
            def f():
                from clinics import services  # a function-local import counts too

                return services
            """
        )
    )
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "tenants.kernel -> clinics.services" in result.stdout
