"""A quote as a real PDF, drawn with reportlab.

Latin text uses Helvetica; any text with CJK characters uses reportlab's built-in CID font STSong-Light (the
viewer supplies the glyphs, so nothing is embedded and the file stays small).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .models import Quote

CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
# CJK ideographs, kana, hangul, CJK punctuation and full-width forms.
_CJK_CHARS = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_CJK = re.compile(f"[{_CJK_CHARS}]")
_CJK_RUN = re.compile(f"([{_CJK_CHARS}]+)")
_registered = False


def _register_fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text or ""))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=LATIN_FONT, fontSize=9.5, leading=12.5)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555")),
        "label": ParagraphStyle("label", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#666666")),
        "company": ParagraphStyle("company", parent=base, fontName=LATIN_BOLD, fontSize=16, leading=20),
        "title": ParagraphStyle("title", parent=base, fontName=LATIN_BOLD, fontSize=20, leading=24, alignment=TA_RIGHT),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=base, fontName=LATIN_BOLD, fontSize=8.5, textColor=colors.white),
        "head_right": ParagraphStyle("head_right", parent=base, fontName=LATIN_BOLD, fontSize=8.5,
                                     textColor=colors.white, alignment=TA_RIGHT),
        "total": ParagraphStyle("total", parent=base, fontName=LATIN_BOLD, fontSize=11, leading=14, alignment=TA_RIGHT),
    }


def _markup(value: str) -> str:
    """Escape user text for a Paragraph (it parses markup) and put each run of CJK characters in the CJK font,
    so Latin words next to Chinese keep Helvetica's spacing."""
    parts = []
    for n, run in enumerate(_CJK_RUN.split(value)):
        if run:
            text = escape(run).replace("\n", "<br/>")
            parts.append(f'<font name="{CJK_FONT}">{text}</font>' if n % 2 else text)
    return "".join(parts)


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_markup(str(text if text is not None else "")), style)


def _money(amount: Decimal, currency: str) -> str:
    return f"{formats.number_format(amount, 2, force_grouping=True)} {currency}"


def _number(value: Decimal) -> str:
    return formats.number_format(value.normalize() if value == value.to_integral() else value, None,
                                 force_grouping=True)


def render_quote_pdf(quote: Quote, compress: bool = True) -> bytes:
    """The quote as PDF bytes (``compress=False`` keeps content streams readable, for tests)."""
    from .quote_services import company_name

    _register_fonts()
    s = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=18 * mm,
        title=f"{quote.number} · {company_name()}", author=company_name(), subject=quote.deal.name,
        pageCompression=1 if compress else 0,
    )
    width = doc.width - 12  # the frame pads 6 pt on each side
    story: list = []

    # Header: the workspace's name on the left, "Quote" and the number on the right.
    header = Table([[_p(company_name(), s["company"]), _p(_("Quote"), s["title"])],
                    ["", _p(quote.number, s["right"])]], colWidths=[width * 0.6, width * 0.4])
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    story += [header, Spacer(1, 8 * mm)]

    # Recipient and the quote's facts side by side.
    contact = quote.contact
    company = (contact.company if contact and contact.company_id else None) or quote.deal.company
    recipient = [_p(_("Prepared for"), s["label"])]
    if contact:
        recipient.append(_p(contact, s["base"]))
    if company:
        recipient.append(_p(company.name, s["base"]))
    if contact and contact.email:
        recipient.append(_p(contact.email, s["small"]))
    if not contact and not company:
        recipient.append(_p("—", s["base"]))
    issued = timezone.localtime(quote.created_at).date() if quote.created_at else timezone.localdate()
    facts = [
        [_p(_("Date"), s["label"]), _p(formats.date_format(issued, "DATE_FORMAT"), s["right"])],
        [_p(_("Valid until"), s["label"]), _p(formats.date_format(quote.valid_until, "DATE_FORMAT"), s["right"])],
        [_p(_("Deal"), s["label"]), _p(quote.deal.name, s["right"])],
    ]
    facts_table = Table(facts, colWidths=[width * 0.16, width * 0.29])
    facts_table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                                     ("BOTTOMPADDING", (0, 0), (-1, -1), 2), ("TOPPADDING", (0, 0), (-1, -1), 2)]))
    top = Table([[recipient, facts_table]], colWidths=[width * 0.55, width * 0.45])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                             ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
    story += [top, Spacer(1, 9 * mm)]

    # The lines.
    rows = [[_p(_("Item"), s["head"]), _p(_("SKU"), s["head"]), _p(_("Qty"), s["head_right"]),
             _p(_("Unit price"), s["head_right"]), _p(_("Discount"), s["head_right"]),
             _p(_("Amount"), s["head_right"])]]
    for line in quote.lines.all():
        rows.append([
            _p(line.name, s["base"]), _p(line.sku, s["small"]), _p(_number(line.quantity), s["right"]),
            _p(_money(line.unit_price, quote.currency), s["right"]),
            _p(f"{_number(line.discount_percent)}%" if line.discount_percent else "—", s["right"]),
            _p(_money(line.amount, quote.currency), s["right"]),
        ])
    lines = Table(rows, colWidths=[width * w for w in (0.30, 0.13, 0.08, 0.18, 0.12, 0.19)], repeatRows=1)
    lines.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1f2937")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.4, colors.HexColor("#d1d5db")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f9fafb")]),
        ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]))
    story += [lines, Spacer(1, 4 * mm)]

    # Totals, right-aligned under the amounts.
    sums = [[_p(_("Subtotal"), s["right"]), _p(_money(quote.subtotal, quote.currency), s["right"])]]
    if quote.discount_total:
        sums.append([_p(_("Discounts"), s["right"]), _p("−" + _money(quote.discount_total, quote.currency),
                                                         s["right"])])
    sums.append([_p(_("Total"), s["total"]), _p(_money(quote.total, quote.currency), s["total"])])
    sums_table = Table(sums, colWidths=[width * 0.31, width * 0.19], hAlign="RIGHT")
    sums_table.setStyle(TableStyle([("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.HexColor("#1f2937")),
                                    ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3)]))
    story += [sums_table, Spacer(1, 10 * mm)]

    if quote.terms:
        story += [_p(_("Terms"), s["label"]), Spacer(1, 1.5 * mm), _p(quote.terms, s["base"]), Spacer(1, 6 * mm)]
    story.append(_p(_("This quote is valid until %(day)s.") % {
        "day": formats.date_format(quote.valid_until, "DATE_FORMAT")}, s["small"]))

    def footer(canvas, document) -> None:  # noqa: ANN001 - reportlab's callback signature
        canvas.saveState()
        canvas.setFont(LATIN_FONT, 7.5)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(doc.leftMargin + 6, 10 * mm, f"{quote.number}")
        canvas.drawRightString(A4[0] - doc.rightMargin - 6, 10 * mm, f"{document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
