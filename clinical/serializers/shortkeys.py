from __future__ import annotations

from rest_framework import serializers

from clinical.models import ShortKey, ShortKeyItem
from clinical.models.prescriptions import MAX_ITEMS, MIN_ITEMS
from clinical.serializers.base import InputSerializer, MedicineSummarySerializer, text


class ShortKeyItemSerializer(serializers.ModelSerializer):
    # One id whether the line names a shared medicine or one of the clinic's own.
    medicine_id = serializers.UUIDField(source="catalogue_medicine_id", read_only=True)
    medicine = MedicineSummarySerializer(source="catalogue_medicine", read_only=True)

    class Meta:
        model = ShortKeyItem
        fields = [
            "medicine_id",
            "medicine",
            "dosage",
            "frequency",
            "duration",
            "instructions",
            "quantity",
            "order",
        ]
        read_only_fields = fields


class ShortKeySerializer(serializers.ModelSerializer):
    personal = serializers.BooleanField(source="is_personal", read_only=True)
    doctor_id = serializers.UUIDField(read_only=True, allow_null=True)
    items = ShortKeyItemSerializer(many=True, read_only=True)

    class Meta:
        model = ShortKey
        fields = [
            "id",
            "code",
            "name",
            "description",
            "personal",
            "doctor_id",
            "usage_count",
            "last_used_at",
            "is_active",
            "items",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ItemInputSerializer(InputSerializer):
    medicine_id = serializers.UUIDField()
    dosage = text(100, required=True, help_text='e.g. "1 tablet", "5 ml".')
    frequency = text(100, required=True, help_text='e.g. "1-0-1", "twice a day".')
    duration = text(100, required=True, help_text='e.g. "5 days".')
    instructions = text(500, help_text='e.g. "after food".')
    quantity = serializers.IntegerField(
        min_value=1, max_value=10000, required=False, allow_null=True
    )


def items_field(*, required: bool = True) -> serializers.ListField:
    return serializers.ListField(
        child=ItemInputSerializer(),
        min_length=MIN_ITEMS,
        max_length=MAX_ITEMS,
        required=required,
        help_text=f"{MIN_ITEMS} to {MAX_ITEMS} medicines, in order; each medicine once.",
    )


class ShortKeyInputSerializer(InputSerializer):
    code = serializers.CharField(
        min_length=2, max_length=20, help_text="2-20 letters or digits; stored upper-case."
    )
    name = text(100, required=True)
    description = text(500)
    personal = serializers.BooleanField(
        required=False, default=False, help_text="Personal to your own doctor profile."
    )
    items = items_field()


class ShortKeyUpdateSerializer(InputSerializer):
    code = serializers.CharField(min_length=2, max_length=20, required=False)
    name = text(100, required=False, allow_blank=False)
    description = text(500)
    is_active = serializers.BooleanField(required=False)
    items = items_field(required=False)
