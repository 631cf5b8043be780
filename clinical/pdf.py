"""PDF documents in every Indian script: fpdf2 lays the page out, HarfBuzz shapes the text.

Why this renderer (docs/printing.md has the measurements): xhtml2pdf neither shapes text nor
falls back to another font, so "किरण" printed as "करिण" and a Tamil name as nothing. fpdf2
with uharfbuzz installs from PyPI wheels alone (no system library, no browser), shapes every
run with HarfBuzz, and embeds the fonts bundled under static/fonts/noto (OFL).

Two things are added here on top of fpdf2:
- the font of each run is the font of its script (`font_for`), so a cluster is never split
  between two fonts (a zero-width joiner, which Noto Sans also has, would otherwise start a
  Latin run in the middle of a Malayalam or Devanagari word);
- the text layer: fpdf2 gives the whole text of a cluster to its first glyph and no text to
  the others, so readers invent a character for those ("कि\\x02रण"). `ShapedFont` spreads the
  cluster's characters over its glyphs in visual order instead, and writes an explicit empty
  mapping for a glyph left without any, so that searching or copying gives back the text.

A character that no bundled font has never prints as a blank or a box: `printable` writes
its code point instead ("[U+738B]").
"""

from __future__ import annotations

import io
import unicodedata
import warnings
from bisect import bisect_right
from functools import cache
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import PDFResourceType, TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace, TTFFont

# fpdf2 warns on every A5 page that it corrected A5's size in 2.8.5; the size is right.
warnings.filterwarnings("ignore", message="Dimensions for page format A5", module="fpdf")

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts" / "noto"

# The scripts of India that the bundled fonts cover: the Unicode block of each, and the
# Noto family that draws it.
SCRIPTS = {
    "devanagari": ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x1CD0, 0x1CFF)),
    "bengali": ((0x0980, 0x09FF),),
    "gurmukhi": ((0x0A00, 0x0A7F),),
    "gujarati": ((0x0A80, 0x0AFF),),
    "oriya": ((0x0B00, 0x0B7F),),
    "tamil": ((0x0B80, 0x0BFF), (0x11FC0, 0x11FFF)),
    "telugu": ((0x0C00, 0x0C7F),),
    "kannada": ((0x0C80, 0x0CFF),),
    "malayalam": ((0x0D00, 0x0D7F),),
}
LATIN = "latin"
FONT_FILES = {
    LATIN: "NotoSans",
    **{script: f"NotoSans{script.capitalize()}" for script in SCRIPTS},
}
_RANGES = sorted((lo, hi, script) for script, ranges in SCRIPTS.items() for lo, hi in ranges)
_STARTS = [lo for lo, _hi, _script in _RANGES]


def script_of(char: str) -> str | None:
    code = ord(char)
    i = bisect_right(_STARTS, code) - 1
    if i >= 0 and code <= _RANGES[i][1]:
        return _RANGES[i][2]
    return None


def font_for(text: str) -> str:
    """The family to start a run of `text` in: the script of its first Indian letter, else
    Latin. The other scripts of a mixed run come from the fallback fonts."""
    for char in text:
        script = script_of(char)
        if script:
            return script
    return LATIN


@cache
def _coverage() -> frozenset[int]:
    covered: set[int] = set()
    for stem in FONT_FILES.values():
        covered.update(TTFont(FONT_DIR / f"{stem}-Regular.ttf", lazy=True).getBestCmap())
    return frozenset(covered)


# Characters that print nothing of their own and that no bundled font has: controls,
# surrogates, private use, unassigned and format characters (bidi isolates, say).
_INVISIBLE_CATEGORIES = {"Cc", "Cs", "Co", "Cn", "Cf"}


def printable(text) -> str:
    """`text` as the PDF prints it: control characters dropped (bar line breaks and tabs),
    and each character that no bundled font has written as its code point, so it is visible
    rather than a blank or a box."""
    if text is None:
        return ""
    covered = _coverage()
    out = []
    for char in str(text):
        if char in "\n\t":
            out.append(" " if char == "\t" else char)
        elif ord(char) in covered:
            out.append(char)
        elif unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            continue
        else:
            out.append(f"[U+{ord(char):04X}]")
    return "".join(out)


class _NoText(tuple):
    """The text of a glyph that carries none of its cluster's characters (the right half of a
    Tamil "ொ", say). Its length is 1 so that fpdf2 writes it into the ToUnicode map, where it
    becomes `<code> <>`: the glyph is drawn and adds nothing to the text layer."""

    __slots__ = ()

    def __len__(self) -> int:
        return 1


NO_TEXT = _NoText()


class ShapedFont(TTFFont):
    """fpdf2's TrueType font with the text layer of each shaped cluster spread over its
    glyphs (see the module's docstring)."""

    def shape_text(self, text, font_size_pt, text_shaping_params):
        if not text:
            return []
        infos, positions = self.perform_harfbuzz_shaping(text, font_size_pt, text_shaping_params)
        # A cluster's characters are those from its cluster value up to the next larger one.
        starts = sorted({int(info.cluster) for info in infos})
        ends = dict(zip(starts, starts[1:] + [len(text)], strict=True))
        members: dict[int, list[int]] = {}
        for index, info in enumerate(infos):
            members.setdefault(int(info.cluster), []).append(index)
        texts: list[tuple] = [NO_TEXT] * len(infos)
        for start, glyphs in members.items():
            chars = [ord(c) for c in text[start : ends[start]]]
            # In visual order, glyph by glyph, one character each; the last glyph takes the
            # rest. Read in order, the glyphs give back the cluster's text.
            for n, index in enumerate(glyphs):
                if n < len(chars):
                    last = n == len(glyphs) - 1
                    texts[index] = tuple(chars[n:] if last else chars[n : n + 1])
        hmtx = self.ttfont["hmtx"].metrics
        result = []
        for index, (info, position) in enumerate(zip(infos, positions, strict=True)):
            name = self.ttfont.getGlyphName(info.codepoint)
            # The glyph's width in the PDF takes a reader's text cursor from where the glyph
            # is drawn (pen + offset) to where the next one starts (pen + advance): zero-width
            # marks and kerned pairs then leave no gap that a reader would take for a space.
            natural = round(self.scale * hmtx[name][0])
            width = position.x_advance - position.x_offset
            glyph = self.subset.get_glyph(
                glyph=info.codepoint, unicode=texts[index], glyph_name=name, glyph_width=width
            )
            if glyph is None:
                continue
            result.append(
                {
                    "mapped_char": self.subset.pick_glyph(glyph),
                    "x_advance": position.x_advance,
                    "y_advance": position.y_advance,
                    "x_offset": position.x_offset,
                    "y_offset": position.y_offset,
                    "force_positioning": bool(
                        natural != position.x_advance
                        or position.x_offset
                        or position.y_offset
                        or position.y_advance
                    ),
                }
            )
        return result


PAPER_SIZES = {"a4": "A4", "a5": "A5", "letter": "Letter"}
INK = (17, 17, 17)
MUTED = (80, 80, 80)
ACCENT = (29, 78, 137)
RULE = (154, 169, 187)
HEAD_FILL = (232, 238, 246)


class PDFRenderError(RuntimeError):
    """The document could not be turned into a PDF."""


class Document(FPDF):
    """A page with the bundled fonts, shaping on, and helpers for what prints contain:
    headings, paragraphs, labelled values and tables. Every string goes through
    `printable` and is set in the font of its script."""

    def __init__(
        self,
        *,
        paper: str = "a4",
        orientation: str = "portrait",
        margins_mm: tuple[float, float, float, float] = (16, 14, 18, 14),
        title: str = "",
        language: str = "en",
        footer_text: str = "",
        base_size: float = 10,
    ):
        super().__init__(
            orientation="L" if orientation == "landscape" else "P",
            unit="mm",
            format=PAPER_SIZES.get(paper, "A4"),
        )
        top, right, bottom, left = margins_mm
        self.set_margins(left=left, top=top, right=right)
        self.set_auto_page_break(True, margin=bottom)
        self.base_size = base_size
        self.footer_text = footer_text
        self.set_lang(language)
        if title:
            self.set_title(printable(title))
        self.set_creator("Clinic SaaS")
        self._families: list[str] = []
        self._load(LATIN)
        self.set_text_shaping(True)
        self.set_text_color(*INK)
        self.set_font(LATIN, size=base_size)
        self.alias_nb_pages()

    def _load(self, family: str) -> None:
        # FPDF.add_font with the font class swapped: what add_font does for a plain TrueType
        # file, which is all these are. A script's fonts are loaded when its first letter is
        # about to be written (parsing all twenty files would cost a third of a second).
        for style, suffix in (("", "Regular"), ("B", "Bold")):
            key = f"{family}{style}"
            path = FONT_DIR / f"{FONT_FILES[family]}-{suffix}.ttf"
            self.fonts[key] = ShapedFont(self, path, key, style)
        self._families.append(family)
        self.set_fallback_fonts(list(self._families), exact_match=False)

    def prepare(self, text) -> str:
        """`text` made printable, with the fonts of its scripts loaded."""
        text = printable(text)
        for char in text:
            script = script_of(char)
            if script and script not in self._families:
                self._load(script)
        return text

    # Text ---------------------------------------------------------------------------------

    def use(self, text: str, *, bold: bool = False, size: float | None = None, colour=INK):
        self.set_font(font_for(text), style="B" if bold else "", size=size or self.base_size)
        self.set_text_color(*colour)

    def line_text(self, text, *, bold=False, size=None, colour=INK, align="L", height=None):
        """One paragraph, wrapped to the width of the page."""
        text = self.prepare(text)
        if not text:
            return
        self.use(text, bold=bold, size=size, colour=colour)
        size = size or self.base_size
        self.multi_cell(
            0,
            height or size * 0.5,
            text,
            align=align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def heading(self, text, *, level: int = 2):
        size = self.base_size + (7 if level == 1 else 1.5)
        self.ln(2 if level == 1 else 3)
        self.line_text(text, bold=True, size=size, colour=ACCENT if level > 1 else INK)
        self.start_section(self.prepare(text), level=level - 1)
        self.ln(1)

    def labelled_values(self, pairs):
        """A row of labelled values (Patient, Age / Gender, Date, …) in equal columns."""
        pairs = [(self.prepare(label), self.prepare(value) or "—") for label, value in pairs]
        self.set_font(LATIN, "", self.base_size)
        self.set_text_color(*INK)
        with self.table(
            borders_layout=TableBordersLayout.NONE,
            text_align="LEFT",
            first_row_as_headings=False,
            line_height=self.base_size * 0.5,
            padding=(0.6, 1, 0.6, 0),
        ) as table:
            labels, values = table.row(), table.row()
            for label, value in pairs:
                labels.cell(
                    label,
                    style=FontFace(
                        family=font_for(label), size_pt=self.base_size - 1.5, color=MUTED
                    ),
                )
                values.cell(
                    value,
                    style=FontFace(family=font_for(value), emphasis="BOLD", size_pt=self.base_size),
                )
        self.ln(1)

    def grid(self, headers, rows, *, widths=None):
        """A ruled table with a heading row; every cell wraps and is set in its script."""
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        size = self.base_size - 0.5
        self.set_font(LATIN, "", size)
        self.set_text_color(*INK)
        with self.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=size * 0.48,
            padding=1.2,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL, size_pt=size),
            repeat_headings=1,
        ) as table:
            head = table.row()
            for header in headers:
                text = self.prepare(header)
                head.cell(
                    text,
                    style=FontFace(
                        family=font_for(text), emphasis="BOLD", fill_color=HEAD_FILL, size_pt=size
                    ),
                )
            for values in rows:
                row = table.row()
                for value in values:
                    text = self.prepare(value)
                    row.cell(text, style=FontFace(family=font_for(text), emphasis="", size_pt=size))
        self.ln(1)

    def image_bytes(self, data: bytes, *, width: float, height: float, x=None, y=None):
        """An image scaled to fit a width x height box (mm), its aspect kept."""
        self.image(io.BytesIO(data), x=x, y=y, w=width, h=height, keep_aspect_ratio=True)

    # Page furniture -------------------------------------------------------------------------

    def footer(self):
        self.set_y(-self.b_margin + 4)
        self.set_draw_color(200, 200, 200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1)
        text = self.prepare(self.footer_text)
        page = f"{self.page_no()}/{{nb}}"
        self.use(text or page, size=self.base_size - 2.5, colour=MUTED)
        width = self.w - self.l_margin - self.r_margin
        self.multi_cell(width - 14, 3.6, text, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.set_font(LATIN, size=self.base_size - 2.5)
        self.cell(14, 3.6, page, align="R")

    def output_bytes(self) -> bytes:
        # Every bundled font is registered, so that any script can appear; only those a page
        # uses are embedded (subsetting the other eighteen costs most of a second).
        used = {
            index
            for (_page, kind), indices in self._resource_catalog.resources_per_page.items()
            if kind == PDFResourceType.FONT
            for index in indices
        }
        for key in [key for key, font in self.fonts.items() if font.i not in used]:
            del self.fonts[key]
        try:
            return bytes(self.output())
        except Exception as exc:  # fpdf2 raises plain exceptions for layout failures
            raise PDFRenderError(str(exc)) from exc
