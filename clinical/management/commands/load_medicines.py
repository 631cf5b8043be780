from __future__ import annotations

from clinical.management.catalogue_command import CatalogueLoadCommand
from clinical.services.medicines import (
    CSV_COLUMNS,
    STARTER_CATALOGUE,
    medicine_catalogue_load,
    read_catalogue,
)


class Command(CatalogueLoadCommand):
    help = (
        "Load or update the shared medicine catalogue (visible to every clinic, read-only "
        "for them) from a CSV file. Rows are matched on name, dosage form and strength, so "
        "running it again changes only what changed. All or nothing: a file with any invalid "
        "row is refused with the line numbers. Columns: " + ", ".join(CSV_COLUMNS) + " "
        "(name and dosage_form required). The repository ships a starter catalogue: "
        f"{STARTER_CATALOGUE.relative_to(STARTER_CATALOGUE.parents[2])}."
    )
    label = "Shared catalogue"

    def read(self, handle):
        return read_catalogue(handle)

    def load(self, rows, *, path, progress):
        return medicine_catalogue_load(
            rows=rows, reason=f"load_medicines {path.name}", progress=progress
        )
