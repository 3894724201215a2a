"""Reading articles to score: files, folders, globs and stdin, in whatever encoding
Korean news arrives in (UTF-8 with or without BOM, CP949/EUC-KR, UTF-16).

Every problem a user can cause is a ``FramingError`` that names the file, the problem
and the fix. Text is normalised (NFC, zero-width and control characters removed) before
splitting, and the character offsets we report refer to that normalised text.
"""

from __future__ import annotations

import glob
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from framing.errors import Errors, FramingError

SUFFIXES = (".txt", ".jsonl", ".html", ".htm")
DEFAULT_MAX_MB = 20.0
_MAGIC = {b"\x89PNG": "PNG image", b"PK\x03\x04": "zip archive", b"%PDF": "PDF document",
          b"\x1f\x8b": "gzip archive", b"\xff\xd8\xff": "JPEG image", b"GIF8": "GIF image",
          b"\x7fELF": "executable"}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass
class Document:
    name: str  # file path, "path:line" for JSONL records, or "<stdin>"
    text: str
    encoding: str = "utf-8"
    warnings: tuple[str, ...] = ()


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    return _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))


def decode(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """Return (text, encoding, warnings) or raise E003/E004 for binary or undecodable data."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise FramingError(Errors.E003, path=name, kind=kind)
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig", []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16", []
    if b"\x00" in data[:4096]:
        # UTF-16 without a BOM puts a NUL beside every ASCII character; anything else is binary.
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                continue
            if _HANGUL.search(text) or text.isascii():
                return text, enc, []
        raise FramingError(Errors.E003, path=name, kind="NUL bytes")
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as err:
        first_bad = err.start
    try:
        text = data.decode("cp949")  # a superset of EUC-KR
        if _HANGUL.search(text):
            return text, "cp949", []
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad <= max(3, len(text) // 100):
        line = data[:first_bad].count(b"\n") + 1
        return text, "utf-8", [f"{name}:{line}: {bad} invalid UTF-8 byte sequence(s) replaced by U+FFFD"]
    raise FramingError(Errors.E004, path=name, tried="UTF-8, UTF-16, CP949/EUC-KR")


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "head", "nav", "footer"}
    _BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "article", "section", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        self.skipping += tag in self._SKIP
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.skipping -= tag in self._SKIP and self.skipping > 0
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _looks_like_html(name: str, text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return name.lower().endswith((".html", ".htm")) or head.startswith(("<!doctype html", "<html"))


def _check_content(name: str, text: str) -> str:
    if not text:
        raise FramingError(Errors.E001, path=name)
    if not text.strip():
        raise FramingError(Errors.E002, path=name)
    return text


def record_text(record, name: str, line: int, field: str = "text") -> str:
    """The normalised text of one record (a JSONL line, CSV or Parquet row), or E007/E010."""
    value = record.get(field) if isinstance(record, dict) else None
    if not isinstance(value, str):
        got = ("not an object" if not isinstance(record, dict) else "missing" if field not in record
               else "null" if value is None else type(value).__name__)
        raise FramingError(Errors.E007, path=name, line=line, field=field, got=got)
    text = normalise(value)
    if not text.strip():
        raise FramingError(Errors.E010, path=name, line=line, field=field)
    return text


def read_bytes(data: bytes, name: str, max_mb: float = DEFAULT_MAX_MB, on_bad_record=None) -> list[Document]:
    """Turn one input's bytes into documents (one per file, or one per JSONL line). A bad JSONL
    line raises, or is passed to ``on_bad_record(error)`` and skipped when that is given."""
    if len(data) > max_mb * 1024 * 1024:
        raise FramingError(Errors.E005, path=name, size_mb=len(data) / 2**20, limit_mb=max_mb)
    if not data:
        raise FramingError(Errors.E001, path=name)
    raw, encoding, warnings = decode(data, name)
    text = normalise(raw)
    if name.lower().endswith(".jsonl"):
        return list(_jsonl_documents(text, name, encoding, warnings, on_bad_record))
    return [_document(name, text, encoding, warnings)]


def read_text(text: str, name: str) -> Document:
    """A text that arrives as a string (the API's JSON): normalised and checked like a file's."""
    return _document(name, normalise(text), "utf-8", [])


def _document(name: str, text: str, encoding: str, warnings: list[str]) -> Document:
    if _looks_like_html(name, text):
        text = html_to_text(text)
        warnings.append(f"{name}: HTML input, scored its visible text")
    return Document(name, _check_content(name, text), encoding, tuple(warnings))


def parse_json_line(line: str, name: str, n: int):
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise FramingError(Errors.E006, path=name, line=n, problem=err.msg) from None


def _jsonl_documents(text: str, name: str, encoding: str, warnings: list[str], on_bad_record) -> Iterator[Document]:
    seen = False
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        seen = True
        try:
            record = parse_json_line(line, name, n)
            doc_text = record_text(record, name, n)
        except FramingError as err:
            if on_bad_record is None:
                raise
            on_bad_record(err)
            continue
        doc_name = f"{name}:{record['id']}" if isinstance(record.get("id"), (str, int)) else f"{name}:{n}"
        yield Document(doc_name, doc_text, encoding, tuple(warnings))
    if not seen:
        raise FramingError(Errors.E002, path=name)


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files, folders (searched recursively for .txt/.jsonl/.html) and globs, in a stable order;
    '-' stands for stdin."""
    paths: list[str] = []
    for item in inputs:
        p = Path(item)
        if item == "-":
            paths.append("-")
        elif p.is_dir():
            found = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not found:
                raise FramingError(Errors.E009, path=item, kinds=".txt, .jsonl or .html")
            paths += found
        elif p.exists():
            paths.append(item)
        else:
            matched = sorted(glob.glob(item, recursive=True))
            if not matched:
                raise FramingError(Errors.E008, path=item)
            paths += [m for m in matched if Path(m).is_file()]
    return list(dict.fromkeys(paths))


def read_input(path: str, max_mb: float = DEFAULT_MAX_MB, on_bad_record=None) -> list[Document]:
    if path == "-":
        return read_bytes(sys.stdin.buffer.read(), "<stdin>", max_mb, on_bad_record)
    p = Path(path)
    size = p.stat().st_size
    if size > max_mb * 1024 * 1024:  # refuse before reading a huge file into memory
        raise FramingError(Errors.E005, path=path, size_mb=size / 2**20, limit_mb=max_mb)
    return read_bytes(p.read_bytes(), path, max_mb, on_bad_record)
