from conftest import SEED

from framing.model.splitter import split_sentences


def test_seed_offsets_and_known_units():
    text = SEED.read_text(encoding="utf-8")
    sents = split_sentences(text)
    assert len(sents) >= 35
    for s in sents:
        assert text[s.start:s.end] == s.text
    texts = [s.text for s in sents]
    # quoted names stay inside their sentences
    assert any(t.startswith("푸틴은 평화 유지군 배치 기술은") and "“불멸의 형제단” 기동에서" in t for t in texts)
    assert any("“색깔 혁명” 시나리오가 실현되는 것을 허용하지 않을 것임을 보여줬다고 말했다." in t for t in texts)
    # the source line is one unit, not four
    assert texts[-1] == "RIA, TASS, NEWS, 2022. 1. 10."
    # a closing quote followed by a particle is not a sentence end
    assert not any(t.startswith("에 내재된") for t in texts)
    # no sentence crosses a paragraph break
    assert not any("\n" in t for t in texts)


def test_empty_and_whitespace():
    assert split_sentences("") == []
    assert split_sentences("  \n\n ") == []


def test_offsets_with_leading_space():
    text = "  첫 문장이다. 둘째 문장이다.\n\n셋째 문장."
    for s in split_sentences(text):
        assert text[s.start:s.end] == s.text
