"""What an import did: per table, the rows added, already there, skipped or changed, and for
every skipped or changed row the reason."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field

NEW = "new"
EXISTING = "already imported"
SKIPPED = "skipped"
CHANGED = "changed"


@dataclass
class Entry:
    table: str
    legacy_id: str
    action: str  # SKIPPED or CHANGED
    reason: str


@dataclass
class Report:
    counts: dict[str, Counter] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def _count(self, table: str, what: str, n: int = 1) -> None:
        self.counts.setdefault(table, Counter())[what] += n

    def new(self, table: str, n: int = 1) -> None:
        self._count(table, NEW, n)

    def existing(self, table: str, n: int = 1) -> None:
        self._count(table, EXISTING, n)

    def skip(self, table: str, legacy_id, reason: str) -> None:
        self._count(table, SKIPPED)
        self.entries.append(Entry(table, str(legacy_id), SKIPPED, reason))

    def change(self, table: str, legacy_id, reason: str) -> None:
        """The row is imported, but not exactly as it was: say how. Counted once per row in
        the summary however many of its values changed."""
        self.entries.append(Entry(table, str(legacy_id), CHANGED, reason))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def changed_rows(self, table: str) -> int:
        return len({e.legacy_id for e in self.entries if e.table == table and e.action == CHANGED})

    def summary(self) -> list[tuple[str, int, int, int, int]]:
        """(table, new, already imported, skipped, changed) for every table read."""
        return [
            (
                table,
                counts[NEW],
                counts[EXISTING],
                counts[SKIPPED],
                self.changed_rows(table),
            )
            for table, counts in self.counts.items()
        ]

    def write_csv(self, path: str) -> None:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["table", "legacy_id", "action", "reason"])
            for entry in self.entries:
                writer.writerow([entry.table, entry.legacy_id, entry.action, entry.reason])
