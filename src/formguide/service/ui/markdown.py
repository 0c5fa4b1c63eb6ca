"""A small Markdown renderer for model cards: headings, lists, tables, paragraphs, `code`, **bold** and images.

Model cards are ours (``core.model_card``), so only the constructs they use are rendered; every piece of text
is HTML-escaped first, so nothing in a card (a feature name, a team) can inject markup. Image links are handed
to ``image_url`` so a card's ``reliability.png`` points at the model's file endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

from markupsafe import Markup

__all__ = ["render_markdown"]

_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)\s]+)\)$")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _inline(text: str) -> str:
    out = escape(text, quote=True)
    out = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", out)
    return _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(rows: list[str]) -> str:
    """A pipe table; the second row gives each column's alignment (``---:`` right)."""
    head, spec, body = _cells(rows[0]), _cells(rows[1]) if len(rows) > 1 else [], rows[2:]
    right = [s.endswith(":") for s in spec] + [False] * len(head)
    cls = ['class="num"' if r else "" for r in right]
    th = "".join(f"<th {cls[i]}>{_inline(c)}</th>" for i, c in enumerate(head))
    trs = []
    for row in body:
        tds = "".join(f"<td {cls[i] if i < len(cls) else ''}>{_inline(c)}</td>" for i, c in enumerate(_cells(row)))
        trs.append(f"<tr>{tds}</tr>")
    return (f'<div class="table-wrap"><table><thead><tr>{th}</tr></thead><tbody>{"".join(trs)}</tbody>'
            "</table></div>")


def render_markdown(text: str, image_url: Callable[[str], str | None] | None = None) -> Markup:
    """HTML of the card ``text``; ``image_url(name)`` maps an image's target (None: the image is left out)."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            i += 1
            continue
        if line.startswith("#"):
            level = min(len(line) - len(line.lstrip("#")), 4)
            level = min(level + 1, 5)  # the page has its own h1
            blocks.append(f"<h{level}>{_inline(line.lstrip('#').strip())}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(lines[i])
                i += 1
            blocks.append(_table(rows))
        elif line.lstrip().startswith(("- ", "* ")):
            items = []
            while i < len(lines) and lines[i].lstrip().startswith(("- ", "* ")):
                items.append(f"<li>{_inline(lines[i].lstrip()[2:])}</li>")
                i += 1
            blocks.append(f"<ul>{''.join(items)}</ul>")
        elif (m := _IMAGE.match(line.strip())) is not None:
            url = image_url(m.group(2)) if image_url is not None else None
            if url is not None:
                blocks.append(f'<figure><img src="{escape(url, quote=True)}" alt="{escape(m.group(1), quote=True)}"'
                              ' loading="lazy"></figure>')
            i += 1
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].lstrip().startswith(("#", "|", "- ", "* ")):
                para.append(lines[i].strip())
                i += 1
            blocks.append(f"<p>{_inline(' '.join(para))}</p>")
    return Markup("\n".join(blocks))  # noqa: S704 - every text piece above went through escape()
