"""Reading clinical documents (.txt, .md, .pdf, .docx) and cutting long texts into sections."""

from __future__ import annotations

import docx
import pypdf
import pytest

from preclinical.errors import InvalidInput
from preclinical.library.documents import read_document, section_label, split_sections


def write_pdf(path, pages: list[list[str]]) -> None:
    """A minimal PDF with one text line per string, Helvetica, one page per list."""
    objects: list[bytes] = []
    page_ids = []
    font_id = 3
    for number, lines in enumerate(pages):
        page_id, content_id = 4 + 2 * number, 5 + 2 * number
        page_ids.append(page_id)
        ops = ["BT", "/F1 12 Tf", "14 TL", "72 720 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops += [f"({escaped}) Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append((page_id, f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
                                 f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()))
        objects.append((content_id, b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"))
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects += [
        (1, b"<< /Type /Catalog /Pages 2 0 R >>"),
        (2, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()),
        (3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
    ]
    objects.sort()
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for object_id, body in objects:
        offsets[object_id] = len(out)
        out += b"%d 0 obj\n" % object_id + body + b"\nendobj\n"
    xref = len(out)
    size = max(offsets) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for object_id in range(1, size):
        out += b"%010d 00000 n \n" % offsets[object_id]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    path.write_bytes(bytes(out))


def test_reads_text_and_markdown(tmp_path):
    (tmp_path / "sop.txt").write_text("Chest pain protocol\n\nCall 911 for crushing pain.", encoding="utf-8")
    (tmp_path / "sop.md").write_bytes("\ufeff# Fever\n\nTemperature ≥ 38 °C in an infant".encode())
    (tmp_path / "old.txt").write_bytes("Fi\xe8vre: appelez le m\xe9decin".encode("cp1252"))
    assert read_document(tmp_path / "sop.txt") == "Chest pain protocol\n\nCall 911 for crushing pain."
    assert read_document(tmp_path / "sop.md") == "# Fever\n\nTemperature ≥ 38 °C in an infant"  # BOM dropped
    assert read_document(tmp_path / "old.txt") == "Fièvre: appelez le médecin"


def test_reads_the_text_of_every_pdf_page(tmp_path):
    path = tmp_path / "guideline.pdf"
    write_pdf(path, [["Adult chest pain triage", "Send to the ED if pain lasts over 15 minutes"],
                     ["Home care for muscle strain"]])
    assert len(pypdf.PdfReader(path).pages) == 2
    text = read_document(path)
    assert "Adult chest pain triage" in text
    assert "Send to the ED if pain lasts over 15 minutes" in text
    assert text.index("chest pain") < text.index("Home care for muscle strain")


def test_an_image_only_pdf_says_it_may_be_scanned(tmp_path):
    path = tmp_path / "scan.pdf"
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=612, height=792)
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(InvalidInput, match="no text found: is it a scanned PDF"):
        read_document(path)


def test_reads_a_word_document_with_headings_and_tables(tmp_path):
    path = tmp_path / "protocol.docx"
    document = docx.Document()
    document.add_heading("Sore throat protocol", level=1)
    document.add_paragraph("Ask about drooling and difficulty breathing.")
    document.add_heading("Red flags", level=2)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Drooling"
    table.rows[0].cells[1].text = "Emergency"
    document.save(str(path))
    text = read_document(path)
    assert "# Sore throat protocol" in text
    assert "Ask about drooling and difficulty breathing." in text
    assert "## Red flags" in text
    assert "Drooling | Emergency" in text
    assert [section_label(s) for s in split_sections(text, max_chars=200)] == ["Sore throat protocol"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.rtf", b"{\\rtf1 hello}", "Unsupported document type .rtf for notes.rtf: use a .txt, .md, .pdf or .docx"),
    ("README", b"hello", "Unsupported document type (no extension)"),
    ("empty.txt", b"", "empty.txt is empty"),
    ("blank.md", b"  \n\n ", "blank.md has no text in it"),
    ("binary.txt", b"\x00\x01\x02PK", "does not look like a text file"),
    ("broken.pdf", b"this is not a pdf at all", "Cannot read broken.pdf as a PDF"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "Cannot read broken.docx as a Word document"),
])
def test_unusable_files_say_what_is_wrong(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        read_document(path)
    assert message in caught.value.message


def test_a_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        read_document(tmp_path / "nope.pdf")


def test_a_short_text_is_one_section():
    assert split_sections("  One paragraph.\n\nAnother.  ") == ["One paragraph.\n\nAnother."]
    assert split_sections("   \n ") == []


def paragraph(word: str, size: int) -> str:
    return " ".join([word] * (size // (len(word) + 1)))


def test_long_documents_break_at_headings_and_stay_under_the_limit():
    sections = [f"# Part {n}\n\n" + "\n\n".join(paragraph(f"p{n}w{k}", 900) for k in range(4)) for n in range(1, 4)]
    text = "\n\n".join(sections)  # three sections of about 3,600 characters
    chunks = split_sections(text, max_chars=6000)
    assert len(chunks) == 3
    assert [section_label(c) for c in chunks] == ["Part 1", "Part 2", "Part 3"]
    assert all(len(c) <= 6000 for c in chunks)
    assert " ".join(chunks).split() == text.split()  # nothing lost, nothing repeated


def test_small_sections_share_a_chunk_and_giant_paragraphs_are_cut():
    small = "\n\n".join(f"## Step {n}\n\nDo thing {n}." for n in range(40))
    chunks = split_sections(small + "\n\n" + "x" * 10, max_chars=300)
    assert 1 < len(chunks) < 40
    assert all(len(c) <= 300 for c in chunks)
    giant = ". ".join(f"Sentence number {n} about dosing" for n in range(400))  # one line, no blank lines
    cut = split_sections(giant, max_chars=1000)
    assert all(len(c) <= 1000 for c in cut) and len(cut) >= len(giant) // 1000
    assert " ".join(cut).split() == giant.split()
