"""`framing serve`'s API on the tiny model: the JSON shape shared with the CLI and the Python API,
limits, coded JSON errors (never a traceback), the API key, escaping, and the micro-batcher."""

import asyncio
import json

import numpy as np
import pytest
from conftest import run_cli
from fastapi.testclient import TestClient

from framing.batcher import MicroBatcher
from framing.errors import FramingError
from framing.labels import LABELS
from framing.model.framer import Framer
from framing.results import ScoreResult, SentenceResult, score
from framing.serve import create_app

KO = "푸틴 대통령은 카자흐스탄 사태가 외부 간섭이라고 말했다. 무장 테러리스트들이 공항을 공격했다.\n\n형제 국가들은 굳건한 연대를 보여줬다."


@pytest.fixture(scope="module")
def framer(trained_tiny):
    return Framer.load(trained_tiny)


@pytest.fixture(scope="module")
def client(framer):
    with TestClient(create_app(framer, max_body_mb=0.05, max_sentences=50)) as c:
        yield c


def make_client(framer, **limits):
    return TestClient(create_app(framer, **limits), raise_server_exceptions=False)


def assert_error(response, status, code, *needles):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == code, body
    assert "Traceback" not in response.text
    for needle in needles:
        assert needle in body["message"], body


def test_score_text_has_the_shared_shape(client, framer, trained_tiny, tmp_path):
    r = client.post("/v1/score", json={"text": KO})
    assert r.status_code == 200, r.text
    result = ScoreResult.model_validate(r.json())
    doc = result.documents[0]
    assert doc.id == "text" and len(doc.sentences) == 3 and doc.text == KO
    for s in doc.sentences:
        assert KO[s.start:s.end] == s.text and set(s.probs) == set(LABELS)
    assert set(doc.profile) == set(LABELS) and result.thresholds == framer.thresholds
    assert result == score(framer, KO)  # the Python API gives the same result
    art = tmp_path / "text"
    art.write_text(KO, encoding="utf-8")
    p = run_cli("score", "text", "-m", trained_tiny, "-f", "jsonl", cwd=tmp_path)
    lines = [SentenceResult.model_validate_json(line) for line in p.stdout_text.splitlines()]
    assert lines == doc.sentences  # ... and so does `score --format jsonl`, line for line


def test_documents_and_thresholds(client):
    r = client.post("/v1/score", json={"documents": [{"id": "a", "text": KO}, {"text": "주가가 소폭 상승했다."}],
                                       "thresholds": {"terrorism": 0.0}})
    assert r.status_code == 200, r.text
    docs = r.json()["documents"]
    assert [d["id"] for d in docs] == ["a", "2"] and r.json()["thresholds"]["terrorism"] == 0.0
    assert all("terrorism" in s["labels"] and s["document"] == d["id"] for d in docs for s in d["sentences"])
    assert docs[0]["profile"]["terrorism"] == {"count": 3, "share": 1.0}


def test_upload_in_korean_encodings_and_jsonl(client):
    r = client.post("/v1/score/file", files={"file": ("a.txt", KO.encode("cp949"), "text/plain")})
    assert r.status_code == 200 and r.json()["documents"][0]["text"] == KO
    lines = "\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in (("x", KO), ("y", "주가가 올랐다.")))
    r = client.post("/v1/score/file", files={"file": ("b.jsonl", lines.encode("utf-16"))}, data={"thresholds": '{"solidarity": 0}'})
    assert r.status_code == 200 and [d["id"] for d in r.json()["documents"]] == ["b.jsonl:x", "b.jsonl:y"]
    assert all("solidarity" in s["labels"] for d in r.json()["documents"] for s in d["sentences"])


@pytest.mark.parametrize("kwargs, status, code, needles", [
    ({"content": b'{"text": "abc"', "headers": {"content-type": "application/json"}}, 400, "E501", ["not valid JSON"]),
    ({"json": {"text": 5}}, 422, "E502", ["'text'", "string"]),
    ({"json": {"documents": [{"id": "a", "text": ["x"]}]}}, 422, "E502", ["documents.0.text"]),
    ({"json": {"text": KO, "documents": [{"text": KO}]}}, 422, "E502", ["exactly one"]),
    ({"json": {"txt": KO}}, 422, "E502", ["txt"]),
    ({"json": {"text": ""}}, 422, "E001", ["empty"]),
    ({"json": {"text": " \n\t\u200b"}}, 422, "E002", ["whitespace"]),
    ({"json": {"text": KO, "thresholds": {"terror": 0.5}}}, 422, "E105", ["unknown label 'terror'"]),
    ({"json": {"text": KO, "thresholds": {"terrorism": 2}}}, 422, "E502", ["thresholds.terrorism", "less than or equal to 1"]),
])
def test_bad_requests_are_coded_json(client, kwargs, status, code, needles):
    assert_error(client.post("/v1/score", **kwargs), status, code, *needles)


def test_binary_upload_and_bad_form(client):
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    assert_error(client.post("/v1/score/file", files={"file": ("scan.png", png)}), 415, "E003", "scan.png", "PNG image")
    assert_error(client.post("/v1/score/file", data={"thresholds": "{}"}), 422, "E502", "file")
    r = client.post("/v1/score/file", files={"file": ("a.txt", KO.encode())}, data={"thresholds": '{"terrorism": "high"}'})
    assert_error(r, 422, "E502", "thresholds.terrorism")


def test_size_and_sentence_limits(client):
    big = {"text": "가" * 60_000}  # over the 0.05 MB test limit
    assert_error(client.post("/v1/score", json=big), 413, "E504", "0.05 MB")
    chunks = (b'{"text": "' + b"a" * 10_000 for _ in range(6))  # no Content-Length: counted while read
    assert_error(client.post("/v1/score", content=chunks, headers={"content-type": "application/json"}), 413, "E504")
    many = {"text": " ".join(["무장 테러리스트들이 공항을 공격했다."] * 60)}
    assert_error(client.post("/v1/score", json=many), 413, "E505", "60 sentences", "limit of 50")


def test_api_key(framer):
    with make_client(framer, api_key="s3cret") as c:
        assert_error(c.post("/v1/score", json={"text": KO}), 401, "E507", "Bearer")
        assert_error(c.post("/v1/score", json={"text": KO}, headers={"Authorization": "Bearer wrong"}), 401, "E507")
        assert_error(c.get("/v1/model", headers={"Authorization": "s3cret"}), 401, "E507")
        assert c.post("/v1/score", json={"text": KO}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and "id='key'" in c.get("/").text


def test_busy_timeout_and_internal_errors(framer, monkeypatch):
    with make_client(framer, max_queue=2) as c:
        r = c.post("/v1/score", json={"text": KO})  # 3 sentences > a queue of 2
        assert_error(r, 503, "E503", "Retry after")
        assert int(r.headers["Retry-After"]) >= 1
    with make_client(framer, timeout_s=0.0001) as c:
        assert_error(c.post("/v1/score", json={"text": KO}), 504, "E506", "0.0001 s")
    monkeypatch.setattr(framer, "predict_proba", lambda texts: 1 / 0)
    with make_client(framer) as c:
        assert_error(c.post("/v1/score", json={"text": KO}), 500, "E509", "ZeroDivisionError")


def test_escaping_routes_and_docs(client):
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)> 무장 테러리스트들이 공항을 공격했다."
    r = client.post("/v1/score", json={"text": attack})
    assert r.headers["content-type"] == "application/json" and r.json()["documents"][0]["sentences"][0]["text"].startswith("<script>")
    page = client.get("/")
    assert "script-src 'sha256-" in page.headers["content-security-policy"] and "connect-src 'self'" in page.headers["content-security-policy"]
    assert "innerHTML" not in page.text and "http" not in page.text.replace("http-equiv", "")  # no external resources
    assert_error(client.get("/v2/nothing"), 404, "E508", "/v2/nothing", "not found")
    assert_error(client.get("/v1/score"), 405, "E508", "method not allowed")
    model = client.get("/v1/model").json()
    assert model["labels"] == list(LABELS) and model["kind"] == "transformer" and "dev_metrics" in model["metadata"]
    assert "# tiny" in model["card"]
    docs = client.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in docs and "cdn" not in docs
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    assert "/v1/score" in client.get("/openapi.json").json()["paths"]


def test_batcher_shares_batches_and_keeps_order():
    calls = []

    def predict(texts):
        calls.append(len(texts))
        return np.array([[float(t)] for t in texts])

    async def main():
        batcher = MicroBatcher(predict, max_batch=8, max_wait_s=0.05, max_queue=100)
        await batcher.start()
        requests = [[str(i * 10 + j) for j in range(3)] for i in range(10)]
        answers = await asyncio.gather(*(batcher.score(r) for r in requests))
        with pytest.raises(FramingError, match="E503"):
            await batcher.score(["1"] * 101)
        # a request that gives up is dropped from the queue; the others still get their rows
        slow = asyncio.ensure_future(asyncio.wait_for(batcher.score(["7"] * 5), 0))
        rest = await batcher.score(["1", "2"])
        await asyncio.gather(slow, return_exceptions=True)
        await batcher.stop()
        return requests, answers, rest, batcher

    requests, answers, rest, batcher = asyncio.run(main())
    for r, a in zip(requests, answers):
        assert a[:, 0].tolist() == [float(t) for t in r]
    assert sum(calls[:4]) == 30 and max(calls) <= 8 and len(calls) <= 5  # 30 sentences in 4 shared calls, not 10
    assert rest[:, 0].tolist() == [1.0, 2.0] and batcher.queued == 0


def test_serve_cli_warns_on_all_interfaces_and_refuses_a_bad_model(tmp_path):
    p = run_cli("serve", "--host", "0.0.0.0", "--model", tmp_path / "nope")
    assert p.returncode == 2 and "Traceback" not in p.stderr_text
    assert "warning: listening on 0.0.0.0" in p.stderr_text and "--api-key" in p.stderr_text
    assert "[E301]" in p.stderr_text
