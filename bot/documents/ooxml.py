"""The WordprocessingML under the administrative format: where an element goes among its siblings
(the schema's order, which Word checks), and Khmer script in a run (its complex-script font, size
and language, and the font table's fallbacks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.text.run import Run


# Khmer letters (a Khmer household's letter, a question written in Khmer in the minutes) are a
# complex script to Word and LibreOffice alike: they take the run's complex-script font (w:cs)
# and size (w:szCs). Khmer OS Siemreap is the body font of Khmer administrative documents, on
# Khmer users' computers and in Debian's fonts-khmeros; the font table names the fallbacks a
# reader may have instead: Khmer OS, Windows' own Khmer UI (Vista and later), Noto Sans Khmer
# (Android, fonts-noto-core), Leelawadee UI (Windows 10), DaunPenh (Windows 7).
KHMER_FONT = "Khmer OS Siemreap"
KHMER_FALLBACKS = ("Khmer OS", "Khmer UI", "Noto Sans Khmer", "Leelawadee UI", "DaunPenh")
KHMER_TAG = "km-KH"
# Khmer OS draws its letters, with the vowels above and the subscripts below, larger and on
# taller lines than Times New Roman's at the same size: Khmer text is set at 80 % of the Latin
# size beside it (13 pt -> 10.5 pt, as Khmer documents set their body), so that a letter's
# Khmer page with all ten topics keeps to its page (checked in LibreOffice by the tests).
KHMER_SCALE = 0.8


# What follows some of a run's properties in the schema's order (CT_RPr).
_RPR_ORDER = (
    "w:rStyle",
    "w:rFonts",
    "w:b",
    "w:bCs",
    "w:i",
    "w:iCs",
    "w:caps",
    "w:smallCaps",
    "w:strike",
    "w:dstrike",
    "w:outline",
    "w:shadow",
    "w:emboss",
    "w:imprint",
    "w:noProof",
    "w:snapToGrid",
    "w:vanish",
    "w:webHidden",
    "w:color",
    "w:spacing",
    "w:w",
    "w:kern",
    "w:position",
    "w:sz",
    "w:szCs",
    "w:highlight",
    "w:u",
    "w:effect",
    "w:bdr",
    "w:shd",
    "w:fitText",
    "w:vertAlign",
    "w:rtl",
    "w:cs",
    "w:em",
    "w:lang",
    "w:eastAsianLayout",
    "w:specVanish",
    "w:oMath",
)
_AFTER_BCS = _RPR_ORDER[_RPR_ORDER.index("w:bCs") + 1 :]
_AFTER_ICS = _RPR_ORDER[_RPR_ORDER.index("w:iCs") + 1 :]
_AFTER_SZCS = _RPR_ORDER[_RPR_ORDER.index("w:szCs") + 1 :]
_AFTER_LANG = _RPR_ORDER[_RPR_ORDER.index("w:lang") + 1 :]

# What follows a table's borders and a paragraph's in the schema's order of their siblings.
_AFTER_CELL_MARGINS = ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
_AFTER_TABLE_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", *_AFTER_CELL_MARGINS)
_AFTER_PARAGRAPH_BORDERS = (
    "w:shd",
    "w:tabs",
    "w:suppressAutoHyphens",
    "w:kinsoku",
    "w:wordWrap",
    "w:overflowPunct",
    "w:topLinePunct",
    "w:autoSpaceDE",
    "w:autoSpaceDN",
    "w:bidi",
    "w:adjustRightInd",
    "w:snapToGrid",
    "w:spacing",
    "w:ind",
    "w:contextualSpacing",
    "w:mirrorIndents",
    "w:suppressOverlap",
    "w:jc",
    "w:textDirection",
    "w:textAlignment",
    "w:textboxTightWrap",
    "w:outlineLvl",
    "w:divId",
    "w:cnfStyle",
    "w:rPr",
    "w:sectPr",
    "w:pPrChange",
)


def has_khmer(text: str) -> bool:
    return any("\u1780" <= c <= "\u17ff" or "\u19e0" <= c <= "\u19ff" for c in text)


def khmer(target: Run, fonts, *, size: float, bold: bool, italic: bool) -> None:  # type: ignore[no-untyped-def]
    """A run with Khmer in it: its Khmer letters in the Khmer font at the run's size, bold and
    italic (the complex script's own properties); its Latin letters stay in Times New Roman."""
    fonts.set(qn("w:cs"), KHMER_FONT)
    properties = target._r.get_or_add_rPr()
    # In the schema's order: rFonts, b, bCs, i, iCs, ..., sz, szCs, ..., lang.
    for wanted, tag, after in ((bold, "w:bCs", _AFTER_BCS), (italic, "w:iCs", _AFTER_ICS)):
        if wanted and properties.find(qn(tag)) is None:
            properties.insert_element_before(OxmlElement(tag), *after)
    size_cs = properties.find(qn("w:szCs"))
    if size_cs is None:
        size_cs = OxmlElement("w:szCs")
        properties.insert_element_before(size_cs, *_AFTER_SZCS)
    size_cs.set(qn("w:val"), str(round(size * KHMER_SCALE * 2)))
    language = properties.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        properties.insert_element_before(language, *_AFTER_LANG)
    language.set(qn("w:bidi"), KHMER_TAG)


def khmer_font_table(document: DocxDocument) -> None:
    """Khmer OS in the document's font table, with its fallbacks as alternative names."""
    for part in document.part.package.iter_parts():
        if str(part.partname) != "/word/fontTable.xml":
            continue
        root = etree.fromstring(part.blob)
        if any(f.get(qn("w:name")) == KHMER_FONT for f in root.iter(qn("w:font"))):
            return
        font = etree.SubElement(root, qn("w:font"), {qn("w:name"): KHMER_FONT})
        for tag, value in (
            ("w:altName", ",".join(KHMER_FALLBACKS)),
            ("w:charset", "00"),
            ("w:family", "auto"),
            ("w:pitch", "variable"),
        ):
            etree.SubElement(font, qn(tag), {qn("w:val"): value})
        part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
        return


def child(parent, tag: str, *, first: bool = False):
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        if first:
            parent.insert(0, found)
        else:
            parent.append(found)
    return found
