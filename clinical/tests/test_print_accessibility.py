"""The print pages without a browser: viewport, landmarks and one h1 in the served HTML,
and the dental chart's colours readable (WCAG AA) with a pattern and a name per condition.
The browser half (390 px, axe-core) is clinical/tests/test_print_pages_browser.py."""

from __future__ import annotations

import re

import pytest

from clinical.dental_chart import (
    CHART_TEXT_ON_FILL,
    CHART_TEXT_ON_WHITE,
    CONDITION_COLOURS,
    CONDITION_PATTERNS,
    NO_FINDING,
)
from clinical.models.dental import ConditionType
from clinical.services import dental_observation_create, prescription_create
from clinical.tests.conftest import h, item


def luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("condition", list(ConditionType))
def test_each_condition_is_readable_and_told_apart_without_colour(condition):
    assert contrast(CONDITION_COLOURS[condition], CHART_TEXT_ON_FILL) >= 4.5
    assert CONDITION_PATTERNS[condition]


def test_patterns_and_colours_are_distinct_and_a_healthy_tooth_is_readable():
    assert len(set(CONDITION_PATTERNS.values())) == len(ConditionType)
    assert len(set(CONDITION_COLOURS.values())) == len(ConditionType)
    assert contrast(NO_FINDING, CHART_TEXT_ON_WHITE) >= 4.5


def _landmarks(html: str) -> None:
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert len(re.findall(r"<main\b", html)) == 1
    assert len(re.findall(r"<h1\b", html)) == 1
    assert re.search(r"<header\b", html) and re.search(r"<footer\b", html)
    assert re.search(r'<html lang="[a-z-]+"', html)


def test_print_pages_have_a_viewport_landmarks_and_one_h1(
    api, clinic_a, bob, doctor, patient, medicine
):
    rx = prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Fever",
        instructions="",
        follow_up_date=None,
        items=[item(medicine)],
        status="active",
    )
    dental_observation_create(
        tenant=clinic_a, actor=bob, patient_id=patient.pk, tooth_number=46, condition_type="caries"
    )
    for url in (
        f"/api/v1/prescriptions/{rx.pk}/print/",
        f"/api/v1/patients/{patient.pk}/dental-chart/print/",
        f"/api/v1/patients/{patient.pk}/case-summary/",
    ):
        response = api.get(url, **h(bob, clinic_a))
        assert response.status_code == 200, url
        _landmarks(response.content.decode())
    chart = api.get(f"/api/v1/patients/{patient.pk}/dental-chart/print/", **h(bob, clinic_a))
    cell = re.search(r'<td class="tooth[^"]*"[^>]*data-tooth="46"[^>]*>.*?</td>', chart.text)
    assert "pattern-dots" in cell.group(0) and "Caries" in cell.group(0)
