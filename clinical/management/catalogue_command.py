"""What `load_medicines` and `load_dental_templates` share: read a CSV file whole, report
every invalid row with its line (and load nothing), then load it with progress."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinical.services.catalogues import CatalogueError, LoadResult, Rows

MAX_ERRORS_SHOWN = 20


class CatalogueLoadCommand(BaseCommand):
    # What the summary line calls the catalogue ("Shared catalogue: 3 created, ...").
    label = ""
    # The file loaded when none is given; None makes the file argument required.
    default_file: Path | None = None

    def read(self, handle) -> Rows:
        raise NotImplementedError

    def load(self, rows: Rows, *, path: Path, progress) -> LoadResult:
        raise NotImplementedError

    def add_arguments(self, parser):
        if self.default_file is None:
            parser.add_argument("file", help="Path of the CSV file (UTF-8).")
        else:
            parser.add_argument(
                "file",
                nargs="?",
                default=str(self.default_file),
                help="Path of the CSV file (UTF-8); without it, the starter file.",
            )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate the file and write nothing."
        )

    def handle(self, *args, file, dry_run=False, **options):
        path = Path(file)
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = self.read(handle)
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

        result = self.load(rows, path=path, progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"{self.label}: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged."
            )
        )
