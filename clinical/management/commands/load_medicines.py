from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinical.services.medicines import (
    CSV_COLUMNS,
    STARTER_CATALOGUE,
    CatalogueError,
    medicine_catalogue_load,
    read_catalogue,
)

MAX_ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Load or update the shared medicine catalogue (visible to every clinic, read-only "
        "for them) from a CSV file. Rows are matched on name, dosage form and strength, so "
        "running it again changes only what changed. All or nothing: a file with any invalid "
        "row is refused with the line numbers. Columns: " + ", ".join(CSV_COLUMNS) + " "
        "(name and dosage_form required). The repository ships a starter catalogue: "
        f"{STARTER_CATALOGUE.relative_to(STARTER_CATALOGUE.parents[2])}."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file (UTF-8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate the file and write nothing."
        )

    def handle(self, *args, file, dry_run=False, **options):
        path = Path(file)
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = read_catalogue(handle)
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        except CatalogueError as exc:
            for line, message in exc.errors[:MAX_ERRORS_SHOWN]:
                self.stderr.write(f"  line {line}: {message}")
            more = len(exc.errors) - MAX_ERRORS_SHOWN
            if more > 0:
                self.stderr.write(f"  … and {more} more")
            raise CommandError(
                f"{path}: {len(exc.errors)} invalid row(s); nothing was loaded."
            ) from None
        if not rows:
            raise CommandError(f"{path} has no rows.")
        self.stdout.write(f"{path}: {len(rows)} valid row(s).")
        if dry_run:
            self.stdout.write("Dry run: nothing written.")
            return

        def progress(done, total):
            self.stdout.write(f"  {done}/{total} rows ({done * 100 // total}%)")

        result = medicine_catalogue_load(
            rows=rows, reason=f"load_medicines {path.name}", progress=progress
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Shared catalogue: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged."
            )
        )
