from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinical.services.dental import (
    STARTER_TEMPLATES,
    TEMPLATE_CSV_COLUMNS,
    TemplateFileError,
    dental_template_catalogue_load,
    read_dental_templates,
)

MAX_ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Load or update the shared dental observation templates (visible to every clinic, "
        "read-only for them) from a CSV file; without a file, the starter set the repository "
        f"ships ({STARTER_TEMPLATES.relative_to(STARTER_TEMPLATES.parents[2])}). Rows are "
        "matched on their name, so running it again changes only what changed. All or "
        "nothing: a file with any invalid row is refused with the line numbers. Columns: "
        + ", ".join(TEMPLATE_CSV_COLUMNS)
        + " (name and notes required; a blank condition, surface or severity fits any)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", default=str(STARTER_TEMPLATES), help="Path of the CSV file."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate the file and write nothing."
        )

    def handle(self, *args, file, dry_run=False, **options):
        path = Path(file)
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = read_dental_templates(handle)
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{path} is not UTF-8 text.") from None
        except TemplateFileError as exc:
            for line, message in exc.errors[:MAX_ERRORS_SHOWN]:
                self.stderr.write(f"  line {line}: {message}")
            raise CommandError(
                f"{path}: {len(exc.errors)} invalid row(s); nothing was loaded."
            ) from None
        if not rows:
            raise CommandError(f"{path} has no rows.")
        self.stdout.write(f"{path}: {len(rows)} valid row(s).")
        if dry_run:
            self.stdout.write("Dry run: nothing written.")
            return
        result = dental_template_catalogue_load(
            rows=rows, reason=f"load_dental_templates {path.name}"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Shared dental templates: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged."
            )
        )
