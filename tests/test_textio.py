import pytest

from framing.errors import FramingError
from framing.textio import expand_inputs, html_to_text, read_bytes

KO = "푸틴 대통령은 카자흐스탄 사태가 외부 간섭이라고 말했다.\n둘째 문장이다."


@pytest.mark.parametrize("data, encoding", [
    (KO.encode("utf-8"), "utf-8"),
    (b"\xef\xbb\xbf" + KO.encode("utf-8"), "utf-8-sig"),
    (KO.encode("cp949"), "cp949"),
    (KO.encode("euc-kr"), "cp949"),
    (KO.encode("utf-16"), "utf-16"),  # with BOM
    (KO.encode("utf-16-le"), "utf-16-le"),  # without BOM
])
def test_encodings_are_read_correctly(data, encoding):
    [doc] = read_bytes(data, "a.txt")
    assert doc.text == KO and doc.encoding == encoding


@pytest.mark.parametrize("data, kind", [
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG"),
    (b"PK\x03\x04" + bytes(100), "zip"),
    (b"abc\x00\x01\x02\xff\xfe\x00" * 50, "NUL"),
])
def test_binary_is_refused(data, kind):
    with pytest.raises(FramingError) as err:
        read_bytes(data, "x.bin")
    assert err.value.code == "E003" and kind in str(err.value) and "x.bin" in str(err.value)


def test_empty_and_whitespace():
    with pytest.raises(FramingError) as err:
        read_bytes(b"", "e.txt")
    assert err.value.code == "E001"
    with pytest.raises(FramingError) as err:
        read_bytes(b" \n\t\n", "w.txt")
    assert err.value.code == "E002"


def test_invalid_utf8_bytes_are_replaced_with_warning():
    data = ("첫 줄입니다.\n" * 200).encode() + b"\xff\xfe bad\n" + "끝.".encode()
    [doc] = read_bytes(data, "mixed.txt")
    assert "\ufffd" in doc.text and any("mixed.txt:201" in w for w in doc.warnings)


def test_control_and_zero_width_characters_are_removed():
    [doc] = read_bytes("외부\u200b간섭\x07이다.\r\n둘째".encode(), "z.txt")
    assert doc.text == "외부간섭 이다.\n둘째"


def test_jsonl_records_and_errors():
    docs = read_bytes(b'{"id": "a", "text": "\xec\x95\x88\xeb\x85\x95."}\n\n{"text": "x"}\n', "in.jsonl")
    assert [d.name for d in docs] == ["in.jsonl:a", "in.jsonl:3"]
    with pytest.raises(FramingError) as err:
        read_bytes(b'{"text": "ok"}\n{broken\n', "in.jsonl")
    assert err.value.code == "E006" and "in.jsonl:2" in str(err.value)
    with pytest.raises(FramingError) as err:
        read_bytes(b'{"body": "no text"}\n', "in.jsonl")
    assert err.value.code == "E007" and "in.jsonl:1" in str(err.value)
    bad = []
    docs = read_bytes(b'{"text": 3}\n{"text": "ok."}\n{"text": " "}\n[1]\n', "in.jsonl", on_bad_record=bad.append)
    assert [d.name for d in docs] == ["in.jsonl:2"]
    assert [(e.code, str(e).split(":")[1]) for e in bad] == [("E007", "1"), ("E010", "3"), ("E007", "4")]


def test_html_text_is_extracted():
    page = "<!doctype html><html><head><title>t</title><script>var x=1;</script></head><body><p>첫 문단.</p><p>둘째 &amp; 문단.</p></body></html>"
    [doc] = read_bytes(page.encode(), "page.html")
    assert "var x" not in doc.text and "첫 문단." in doc.text and "둘째 & 문단." in doc.text
    assert html_to_text("<div>a</div><div>b</div>") == "a\nb"


def test_size_limit():
    with pytest.raises(FramingError) as err:
        read_bytes(b"a" * (2 * 1024 * 1024), "big.txt", max_mb=1)
    assert err.value.code == "E005" and "--max-mb" in str(err.value)


def test_expand_inputs(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("x")
    (tmp_path / "d" / "b.jsonl").write_text("x")
    (tmp_path / "d" / "c.png").write_text("x")
    assert [p.split("/")[-1] for p in expand_inputs([str(tmp_path / "d")])] == ["a.txt", "b.jsonl"]
    assert len(expand_inputs([str(tmp_path / "d" / "*.txt")])) == 1
    with pytest.raises(FramingError) as err:
        expand_inputs([str(tmp_path / "missing.txt")])
    assert err.value.code == "E008"
