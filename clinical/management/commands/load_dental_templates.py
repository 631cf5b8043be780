from __future__ import annotations

from clinical.management.catalogue_command import CatalogueLoadCommand
from clinical.services.dental.templates import (
    STARTER_TEMPLATES,
    TEMPLATE_CSV_COLUMNS,
    dental_template_catalogue_load,
    read_dental_templates,
)


class Command(CatalogueLoadCommand):
    help = (
        "Load or update the shared dental observation templates (visible to every clinic, "
        "read-only for them) from a CSV file; without a file, the starter set the repository "
        f"ships ({STARTER_TEMPLATES.relative_to(STARTER_TEMPLATES.parents[2])}). Rows are "
        "matched on their name, so running it again changes only what changed. All or "
        "nothing: a file with any invalid row is refused with the line numbers. Columns: "
        + ", ".join(TEMPLATE_CSV_COLUMNS)
        + " (name and notes required; a blank condition, surface or severity fits any)."
    )
    label = "Shared dental templates"
    default_file = STARTER_TEMPLATES

    def read(self, handle):
        return read_dental_templates(handle)

    def load(self, rows, *, path, progress):
        return dental_template_catalogue_load(
            rows=rows, reason=f"load_dental_templates {path.name}"
        )
