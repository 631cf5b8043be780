"""A sample clinic's dental records: observations, the procedures planned or done for every
other one, and an x-ray for each of the first twenty."""

from __future__ import annotations

from clinics.legacy.sample.base import CONDITIONS, SURFACES, TEETH, Fill, copy_rows


def dental_write(fill: Fill, *, dental: int) -> None:
    """`dental` observations on the first appointments, with their procedures and x-rays."""
    _observations_write(fill, dental=dental)
    _procedures_write(fill)
    _attachments_write(fill)
    fill.say(f"{fill.code}: {dental:,} dental observations")


def _observations_write(fill: Fill, *, dental: int) -> None:
    def observation_rows():
        for n in range(dental):
            appointment_id, _pid, mobile, first, _d, day = fill.appointments[n]
            observation_id = fill.new_id()
            fill.observations.append((observation_id, appointment_id, mobile, first))
            yield (
                observation_id,
                *fill.tenant,
                mobile,
                first,
                appointment_id,
                str(TEETH[n % len(TEETH)]),
                SURFACES[n % len(SURFACES)],
                CONDITIONS[n % len(CONDITIONS)],
                "Moderate",
                "Seen on x-ray",
                n % 2 == 0,
            )

    copy_rows(
        fill.conn,
        "dental_observations",
        [
            "id",
            *fill.tcol,
            "patient_mobile_number",
            "patient_first_name",
            "appointment_id",
            "tooth_number",
            "tooth_surface",
            "condition_type",
            "severity",
            "observation_notes",
            "treatment_required",
        ],
        observation_rows(),
    )


def _procedures_write(fill: Fill) -> None:
    def procedure_rows():
        for n, (observation_id, appointment_id, _m, _f) in enumerate(fill.observations):
            if n % 2:
                continue
            yield (
                fill.new_id(),
                *fill.tenant,
                observation_id,
                appointment_id,
                "D2391",
                "Resin composite, one surface",
                f"{TEETH[n % 32]}, {TEETH[(n + 1) % 32]}",
                "1500.00",
                "completed" if n % 4 == 0 else "planned",
            )

    copy_rows(
        fill.conn,
        "dental_procedures",
        [
            "id",
            *fill.tcol,
            "observation_id",
            "appointment_id",
            "procedure_code",
            "procedure_name",
            "tooth_numbers",
            "estimated_cost",
            "status",
        ],
        procedure_rows(),
    )


def _attachments_write(fill: Fill) -> None:
    copy_rows(
        fill.conn,
        "dental_attachments",
        [
            "id",
            *fill.tcol,
            "observation_id",
            "patient_mobile_number",
            "patient_first_name",
            "file_type",
            "file_name",
            "file_path",
            "file_size",
            "mime_type",
            "uploaded_by",
        ],
        (
            (
                fill.new_id(),
                *fill.tenant,
                observation_id,
                mobile,
                first,
                "xray",
                f"xray-{n}.png",
                f"dental/{fill.code}/{observation_id}.png",
                68,
                "image/png",
                fill.admin_id,
            )
            for n, (observation_id, _a, mobile, first) in enumerate(fill.observations[:20])
        ),
    )
