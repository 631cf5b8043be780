"""Clinical demo records for the demo clinics (see clinics.demo): doctors' fees and weekly
availability, patients with a family, short keys, appointments and prescriptions, for the
dental practice a filled-in dental chart (findings, a treatment plan, completed work), and
for both a letterhead with a logo and a signature (the family clinic also has a Hindi-named
and a Tamil-named patient with prescriptions).

Everything goes through the same services as the API, so the demo data obeys the same rules
(families, no past bookings, no overlaps, doctors prescribing as themselves).

One module per part: `clinic` (the catalogues, the practice, patients, bookings and
prescriptions), `dental` (the dental chart), `printing` (the letterhead and the patients who
read Hindi and Tamil), and `common` for what they share. clinics.demo calls the four
functions below.
"""

from __future__ import annotations

from clinical.demo.clinic import seed_catalogue, seed_clinic
from clinical.demo.dental import seed_dental_chart
from clinical.demo.printing import seed_print_demo

__all__ = ["seed_catalogue", "seed_clinic", "seed_dental_chart", "seed_print_demo"]
