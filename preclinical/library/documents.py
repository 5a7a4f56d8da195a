"""Clinical documents in (text, Markdown, PDF, Word) as plain text, and long texts cut into sections for generation."""

from __future__ import annotations

import re
from pathlib import Path

from preclinical.errors import InvalidInput

SUPPORTED = (".txt", ".md", ".markdown", ".pdf", ".docx")
DEFAULT_MAX_CHARS = 6000

_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+\S")
_NUMBERED_HEADING = re.compile(r"^(?:section\s+)?\d+(?:\.\d+)*\.?\s+[A-Z][^.!?]*$", re.IGNORECASE)


def read_document(path: str | Path) -> str:
    """The text of a .txt, .md, .pdf or .docx file; InvalidInput says what is wrong and what to do."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise InvalidInput(
            f"Unsupported document type {suffix or '(no extension)'!s} for {name}: use a .txt, .md, .pdf or .docx file, "
            "or paste the text."
        )
    if not path.is_file():
        raise InvalidInput(f"Cannot read {path}: no such file.")
    if path.stat().st_size == 0:
        raise InvalidInput(f"{name} is empty: there is no text to generate scenarios from.")
    if suffix == ".pdf":
        text = _pdf_text(path)
        if not text.strip():
            raise InvalidInput(
                f"{name}: no text found: is it a scanned PDF? Run it through OCR first, or paste the text."
            )
    elif suffix == ".docx":
        text = _docx_text(path)
    else:
        text = _plain_text(path)
    if not text.strip():
        raise InvalidInput(f"{name} has no text in it: there is nothing to generate scenarios from.")
    return text


def _plain_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InvalidInput(f"{path.name} does not look like a text file: save it as plain text, .pdf or .docx.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older Windows exports; cp1252 decodes nearly any byte sequence a word processor writes.
        return raw.decode("cp1252", errors="replace")


def _pdf_text(path: Path) -> str:
    import pypdf  # imported here: only PDF users pay for it
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidInput(f"{path.name} is password-protected: save an unprotected copy and try again.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InvalidInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InvalidInput(f"Cannot read {path.name} as a PDF ({exc}): is the file complete and really a PDF?") from None
    return "\n\n".join(page.strip() for page in pages if page.strip())


def _docx_text(path: Path) -> str:
    import zipfile

    import docx  # python-docx; imported here like pypdf
    from docx.opc.exceptions import OpcError

    try:
        document = docx.Document(str(path))
    except (OpcError, zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        # KeyError: a zip without the Word parts; OpcError: not a zip, or a broken package.
        raise InvalidInput(f"Cannot read {path.name} as a Word document ({exc}): save it again as .docx.") from None
    blocks: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        level = _heading_level(paragraph.style.name if paragraph.style is not None else "")
        # Headings become Markdown headings so that split_sections can cut the document at them.
        blocks.append(f"{'#' * level} {text}" if level else text)
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            line = " | ".join(dict.fromkeys(c for c in cells if c))  # merged cells repeat their text
            if line:
                blocks.append(line)
    return "\n\n".join(blocks)


def _heading_level(style_name: str) -> int:
    if style_name == "Title":
        return 1
    match = re.fullmatch(r"Heading (\d)", style_name or "")
    return min(int(match.group(1)), 6) if match else 0


# --- sections -----------------------------------------------------------------------------------


def split_sections(text: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Cut text into chunks of at most `max_chars`, breaking at headings first, then blank lines, then lines.

    Consecutive short sections share a chunk, so a document of many small headed sections does not
    become one model call per heading.
    """
    if max_chars < 200:
        raise ValueError("max_chars must be at least 200")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    for section in _headed_sections(text):
        pieces.extend(_fit(section, max_chars))
    return _pack(pieces, max_chars)


def section_label(chunk: str, limit: int = 60) -> str:
    """A short name for a chunk: its first heading, else its first line."""
    lines = [line.strip() for line in chunk.splitlines() if line.strip()]
    heading = next((line for line in lines if _is_heading(line)), lines[0] if lines else "")
    heading = heading.lstrip("#").strip()
    return heading if len(heading) <= limit else heading[: limit - 1].rstrip() + "…"


def _is_heading(line: str) -> bool:
    line = line.strip()
    if _MARKDOWN_HEADING.match(line):
        return True
    if len(line) > 80 or line.endswith((".", ",", ";")):
        return False
    if _NUMBERED_HEADING.match(line):
        return True
    letters = [c for c in line if c.isalpha()]
    return len(letters) >= 4 and all(c.isupper() for c in letters)


def _starts_with_heading(block: str) -> bool:
    first = block.lstrip().split("\n", 1)[0]
    return _is_heading(first)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _headed_sections(text: str) -> list[str]:
    """Paragraphs grouped so that each group starts at a heading (the first may not)."""
    sections: list[list[str]] = []
    for paragraph in _paragraphs(text):
        if not sections or _starts_with_heading(paragraph):
            sections.append([paragraph])
        else:
            sections[-1].append(paragraph)
    return ["\n\n".join(group) for group in sections]


def _fit(section: str, max_chars: int) -> list[str]:
    """A section as pieces no longer than max_chars: by paragraphs, then lines, then words."""
    if len(section) <= max_chars:
        return [section]
    parts: list[str] = []
    for paragraph in _paragraphs(section):
        if len(paragraph) <= max_chars:
            parts.append(paragraph)
            continue
        for line in paragraph.split("\n"):
            parts.extend(_cut_long_line(line, max_chars) if len(line) > max_chars else [line])
    return _pack(parts, max_chars)


def _cut_long_line(line: str, max_chars: int) -> list[str]:
    """Cut at sentence ends where possible, else at the last space, else hard."""
    out = []
    rest = line.strip()
    while len(rest) > max_chars:
        window = rest[:max_chars]
        cut = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
        cut = cut + 1 if cut > max_chars // 2 else window.rfind(" ")
        if cut <= 0:
            cut = max_chars
        out.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        out.append(rest)
    return out


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Join consecutive pieces (blank line between) while they fit."""
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + 2 + len(piece) <= max_chars:
            current = f"{current}\n\n{piece}"
        else:
            if current:
                chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks
