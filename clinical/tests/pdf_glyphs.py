"""Reading a PDF's glyphs back, to check them against HarfBuzz's shaping of the same text.

A PDF names its glyphs by the ids of a *subset* of the font, so the ids cannot be compared
with the original font's directly. Each embedded glyph is identified by its outline instead
(components decomposed, advance width included): the outline of subset glyph N is the
outline of original glyph M, so the PDF's run of glyphs becomes a run of original glyph ids,
which is compared with `uharfbuzz.shape` of the string in the bundled font file.
"""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path

import uharfbuzz as hb
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader
from pypdf.generic import ContentStream


def _outline_key(glyphset, name: str) -> str:
    pen = DecomposingRecordingPen(glyphset)
    glyphset[name].draw(pen)
    return hashlib.sha1(repr((pen.value, glyphset[name].width)).encode()).hexdigest()


@cache
def _original_ids(path: str) -> dict[str, frozenset[int]]:
    """Outline key -> the ids of the original font's glyphs with that outline (a few glyphs,
    such as spaces, share one)."""
    font = TTFont(path)
    glyphset = font.getGlyphSet()
    ids: dict[str, set[int]] = {}
    for gid, name in enumerate(font.getGlyphOrder()):
        ids.setdefault(_outline_key(glyphset, name), set()).add(gid)
    return {key: frozenset(value) for key, value in ids.items()}


def harfbuzz_ids(path: str | Path, text: str) -> list[int]:
    """The glyph ids HarfBuzz shapes `text` into with the font at `path`."""
    font = hb.Font(hb.Face(hb.Blob.from_file_path(str(path))))
    buffer = hb.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    hb.shape(font, buffer, {})
    return [info.codepoint for info in buffer.glyph_infos]


def cmap_ids(path: str | Path, text: str) -> list[int]:
    """The glyph ids of `text` character by character, unshaped (what a renderer without
    shaping draws)."""
    font = TTFont(str(path))
    cmap = font.getBestCmap()
    order = {name: gid for gid, name in enumerate(font.getGlyphOrder())}
    return [order[cmap[ord(c)]] if ord(c) in cmap else 0 for c in text]


def _fonts_of(resources) -> dict:
    fonts = {}
    if resources is None or "/Font" not in resources:
        return fonts
    for key, ref in resources["/Font"].items():
        font = ref.get_object()
        if font.get("/Subtype") != "/Type0":
            continue
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        if "/FontFile2" not in descriptor:
            continue
        embedded = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
        mapping = descendant.get("/CIDToGIDMap")
        cid_to_gid = None
        if mapping is not None and mapping != "/Identity":
            data = mapping.get_object().get_data()
            cid_to_gid = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        fonts[key] = (str(descriptor["/FontName"]), embedded, cid_to_gid)
    return fonts


def glyph_runs(pdf: bytes) -> list[tuple[str, list[str]]]:
    """Every text-showing operation of the PDF as (embedded font name, outline keys)."""
    reader = PdfReader(io.BytesIO(pdf))
    runs = []
    for page in reader.pages:
        fonts = _fonts_of(page.get("/Resources"))
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = operands[0]
            elif operator in (b"Tj", b"TJ") and current in fonts:
                name, embedded, cid_to_gid = fonts[current]
                glyphset, order = embedded.getGlyphSet(), embedded.getGlyphOrder()
                strings = operands[0] if operator == b"TJ" else [operands[0]]
                keys = []
                for string in strings:
                    if isinstance(string, (int, float)):
                        continue
                    data = string.original_bytes if hasattr(string, "original_bytes") else string
                    for i in range(0, len(data), 2):
                        cid = int.from_bytes(data[i : i + 2], "big")
                        gid = cid_to_gid[cid] if cid_to_gid else cid
                        keys.append(_outline_key(glyphset, order[gid]))
                runs.append((name, keys))
    return runs


def drawn_ids(pdf: bytes, path: str | Path) -> list[frozenset[int]]:
    """The glyphs the PDF draws, in order, as ids of the font at `path` (each a set of ids
    with the same outline; empty for a glyph of another font). Outlines, not the embedded
    fonts' names, decide: a renderer may name a subset as it likes."""
    index = _original_ids(str(path))
    drawn: list[frozenset[int]] = []
    for _name, keys in glyph_runs(pdf):
        drawn.extend(index.get(key, frozenset()) for key in keys)
    return drawn


def contains_shaped(pdf: bytes, path: str | Path, text: str) -> bool:
    """Whether, for each word of `text`, HarfBuzz's glyph sequence in the font at `path`
    appears in the glyphs the PDF draws in that font."""
    drawn = drawn_ids(pdf, path)
    for word in text.split():
        want = harfbuzz_ids(path, word)
        if not any(
            all(want[j] in drawn[start + j] for j in range(len(want)))
            for start in range(len(drawn) - len(want) + 1)
        ):
            return False
    return True


def notdef_drawn(pdf: bytes) -> bool:
    """Whether any embedded font draws its glyph 0 (.notdef, the empty box)."""
    reader = PdfReader(io.BytesIO(pdf))
    for page in reader.pages:
        fonts = _fonts_of(page.get("/Resources"))
        current = None
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator == b"Tf":
                current = operands[0]
            elif operator in (b"Tj", b"TJ") and current in fonts:
                _name, _embedded, cid_to_gid = fonts[current]
                strings = operands[0] if operator == b"TJ" else [operands[0]]
                for string in strings:
                    if isinstance(string, (int, float)):
                        continue
                    data = string.original_bytes if hasattr(string, "original_bytes") else string
                    for i in range(0, len(data), 2):
                        cid = int.from_bytes(data[i : i + 2], "big")
                        if (cid_to_gid[cid] if cid_to_gid else cid) == 0:
                            return True
    return False


def text_layer(pdf: bytes) -> str:
    """The PDF's text as a reader extracts it (search, copy)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
