from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from clinical.models import CatalogueMedicine, Medicine
from clinical.serializers.base import InputSerializer, text


class MedicineSerializer(serializers.ModelSerializer):
    """A catalogue entry: a CatalogueMedicine from the list, or the clinic's own Medicine
    just written (the same fields)."""

    scope = serializers.SerializerMethodField()

    class Meta:
        model = CatalogueMedicine
        fields = [
            "id",
            "name",
            "generic_name",
            "composition",
            "manufacturer",
            "dosage_form",
            "strength",
            "category",
            "price",
            "prescription_only",
            "atc_code",
            "notes",
            "is_active",
            "scope",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_scope(self, medicine) -> str:
        """`global` for the shared catalogue (read-only), `clinic` for the clinic's own."""
        return "global" if medicine.is_global else "clinic"


class MedicineInputSerializer(InputSerializer):
    name = text(200, required=True)
    generic_name = text(200)
    composition = text(500)
    manufacturer = text(200)
    dosage_form = serializers.ChoiceField(choices=Medicine.DosageForm.choices)
    strength = text(100)
    category = text(100)
    price = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text='Rupees, e.g. "42.50".',
    )
    prescription_only = serializers.BooleanField(required=False)
    atc_code = text(7)
    notes = text(5000)
    is_active = serializers.BooleanField(required=False)
