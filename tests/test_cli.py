"""The real `framing` CLI on good and bad input: exit codes, messages that name the file, the
problem and the fix, no traceback for user errors, and nothing half-written."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import pytest
from conftest import ROOT, SEED, TINY, default_sigint, run_cli, write_records

KO = "푸틴 대통령은 카자흐스탄 사태가 외부 간섭이라고 말했다. 무장 테러리스트들이 공항을 공격했다."


def assert_user_error(proc, *needles, code=2):
    out = proc.stderr_text
    assert proc.returncode == code, out
    assert "Traceback" not in out and "Traceback" not in proc.stdout_text
    for needle in needles:
        assert needle in out, out


# ---------- scoring: inputs ----------

def test_score_formats(trained_tiny, tmp_path):
    art = tmp_path / "a.txt"
    art.write_text(KO, encoding="utf-8")
    p = run_cli("score", art, "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 0, p.stderr_text
    rows = [json.loads(line) for line in p.stdout_text.splitlines()]
    assert len(rows) == 2 and set(rows[0]) == {"document", "index", "start", "end", "text", "probs", "labels"}
    assert KO[rows[1]["start"]:rows[1]["end"]] == rows[1]["text"] and len(rows[1]["probs"]) == 5
    p = run_cli("score", art, "-m", trained_tiny, "-f", "csv")
    assert p.stdout_text.splitlines()[0].startswith("document,index,start,end,text,p_external_interference")
    p = run_cli("score", art, "-m", trained_tiny, "-f", "table")
    assert "profile:" in p.stdout_text and "TER" in p.stdout_text
    report = tmp_path / "r.html"
    p = run_cli("score", art, "-m", trained_tiny, "-f", "html", "-o", report)
    page = report.read_text(encoding="utf-8")
    assert p.returncode == 0 and page.startswith("<!doctype html>") and "title=\"external_interference:" in page
    assert "<script" not in page and "http" not in page  # self-contained
    assert not list(tmp_path.glob(".r.html.tmp-*"))


def test_score_stdin_and_thresholds(trained_tiny):
    p = run_cli("score", "-", "-m", trained_tiny, "-f", "jsonl", "-t", "0.999", input_bytes=KO.encode())
    assert p.returncode == 0 and all(json.loads(r)["labels"] == [] for r in p.stdout_text.splitlines())
    p = run_cli("score", "-", "-m", trained_tiny, "-f", "jsonl", "-t", "terrorism=0.0", input_bytes=KO.encode())
    assert all("terrorism" in json.loads(r)["labels"] for r in p.stdout_text.splitlines())
    p = run_cli("score", "-", "-m", trained_tiny, "-t", "terror=0.5", input_bytes=KO.encode())
    assert_user_error(p, "unknown label 'terror'")


@pytest.mark.parametrize("name, data, needles", [
    ("empty.txt", b"", ["empty.txt", "is empty"]),
    ("blank.txt", b"  \n\t \n", ["blank.txt", "only whitespace"]),
    ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(64), ["image.txt", "PNG image", "plain text"]),
])
def test_bad_single_inputs(trained_tiny, tmp_path, name, data, needles):
    f = tmp_path / name
    f.write_bytes(data)
    assert_user_error(run_cli("score", f, "-m", trained_tiny), *needles)


def test_zip_input(trained_tiny, tmp_path):
    z = tmp_path / "articles.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.txt", KO)
    assert_user_error(run_cli("score", z, "-m", trained_tiny), "articles.zip", "zip archive")


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-16", "utf-8-sig"])
def test_korean_encodings_are_read(trained_tiny, tmp_path, encoding):
    f = tmp_path / f"{encoding}.txt"
    f.write_bytes(KO.encode(encoding))
    p = run_cli("score", f, "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 0, p.stderr_text
    assert [json.loads(r)["text"] for r in p.stdout_text.splitlines()][0].startswith("푸틴 대통령은")


def test_messy_text_is_scored(trained_tiny, tmp_path):
    f = tmp_path / "messy.txt"
    f.write_bytes("외부\u200b간섭\x07이다. Путин заявил о вмешательстве. NATO said no.\n".encode() + b"\xff\xfe\n" + KO.encode())
    p = run_cli("score", f, "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 0 and "invalid UTF-8" in p.stderr_text and "messy.txt:2" in p.stderr_text
    texts = [json.loads(r)["text"] for r in p.stdout_text.splitlines()]
    assert any("Путин" in t for t in texts) and not any("\u200b" in t or "\x07" in t for t in texts)


def test_html_input_text_is_extracted(trained_tiny, tmp_path):
    f = tmp_path / "page.html"
    f.write_text(f"<html><head><style>p{{}}</style></head><body><p>{KO}</p></body></html>", encoding="utf-8")
    p = run_cli("score", f, "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 0 and "HTML input" in p.stderr_text
    assert "style" not in p.stdout_text and len(p.stdout_text.splitlines()) == 2


def test_huge_and_unpunctuated_inputs(trained_tiny, tmp_path):
    big = tmp_path / "big.txt"
    big.write_text((SEED.read_text(encoding="utf-8") + "\n") * 650, encoding="utf-8")  # ~5 MB
    assert big.stat().st_size > 5_000_000
    p = run_cli("score", big, "-m", trained_tiny, "-f", "csv", "-o", tmp_path / "big.csv")
    assert p.returncode == 0, p.stderr_text
    assert sum(1 for _ in open(tmp_path / "big.csv", encoding="utf-8")) > 20000
    p = run_cli("score", big, "-m", trained_tiny, "--max-mb", "1")
    assert_user_error(p, "big.txt", "above the 1.0 MB limit", "--max-mb")
    long = tmp_path / "long.txt"
    long.write_text("가나다라 마바사 " * 1250, encoding="utf-8")  # 10,000 characters, no punctuation
    p = run_cli("score", long, "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 0 and len(p.stdout_text.splitlines()) == 1


def test_jsonl_bad_lines_are_skipped_and_named(trained_tiny, tmp_path):
    f = tmp_path / "in.jsonl"
    f.write_text('{"text": "' + KO + '"}\n{"text": broken}\n{"id": "c", "text": "' + KO + '"}\n{"text": null}\n', encoding="utf-8")
    p = run_cli("score", f, "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 1 and "Traceback" not in p.stderr_text
    assert "in.jsonl:2" in p.stderr_text and "invalid JSON" in p.stderr_text
    assert "in.jsonl:4" in p.stderr_text and "(it is null)" in p.stderr_text and "2 bad record(s) skipped" in p.stderr_text
    assert {json.loads(r)["document"] for r in p.stdout_text.splitlines()} == {f"{f}:1", f"{f}:c"}
    assert_user_error(run_cli("score", f, "-m", trained_tiny, "--strict"), "in.jsonl:2", "invalid JSON")
    f.write_text('{"body": "x"}\n', encoding="utf-8")
    assert_user_error(run_cli("score", f, "-m", trained_tiny), "in.jsonl:1", "'text' field", "no input could be scored")


def test_one_bad_file_is_skipped_unless_strict(trained_tiny, tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_text(KO, encoding="utf-8")
    bad.write_bytes(b"")
    p = run_cli("score", good, bad, tmp_path / "missing.txt", "-m", trained_tiny, "-f", "jsonl")
    assert p.returncode == 1 and "bad.txt" in p.stderr_text and "missing.txt" in p.stderr_text
    assert "2 input(s) failed" in p.stderr_text and len(p.stdout_text.splitlines()) == 2
    p = run_cli("score", good, bad, "-m", trained_tiny, "--strict", "-f", "jsonl")
    assert_user_error(p, "bad.txt")
    assert p.stdout_text == ""


def test_unwritable_report_location(trained_tiny, tmp_path):
    art = tmp_path / "a.txt"
    art.write_text(KO, encoding="utf-8")
    p = run_cli("score", art, "-m", trained_tiny, "-f", "html", "-o", tmp_path / "no" / "such" / "dir" / "r.html")
    assert_user_error(p, "r.html", "writable")


# ---------- model directories ----------

def test_bad_model_dirs(trained_tiny, tmp_path):
    import shutil

    art = tmp_path / "a.txt"
    art.write_text(KO, encoding="utf-8")
    assert_user_error(run_cli("score", art, "-m", tmp_path / "nope"), "nope", "not a framing model directory", "framing train")
    other = tmp_path / "other"
    shutil.copytree(trained_tiny, other)
    meta = json.loads((other / "framing.json").read_text())
    meta["labels"] = ["a", "b", "c", "d", "e"]
    (other / "framing.json").write_text(json.dumps(meta))
    assert_user_error(run_cli("score", art, "-m", other), "other", "differ", "retrain")
    pickled = tmp_path / "pickled"
    shutil.copytree(trained_tiny, pickled)
    (pickled / "model.safetensors").unlink()
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04")
    assert_user_error(run_cli("score", art, "-m", pickled), "pytorch_model.bin", "pickle")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(trained_tiny, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 100)
    assert_user_error(run_cli("score", art, "-m", corrupt), "corrupt", "corrupted")


# ---------- training ----------

def test_train_with_overrides_and_force(tiny_config, tmp_path):
    out = tmp_path / "runs" / "tiny"
    p = run_cli("train", "--config", tiny_config, "--train.epochs", "2")
    assert p.returncode == 0, p.stderr_text
    assert json.loads((out / "framing.json").read_text())["config"]["train"]["epochs"] == 2
    assert_user_error(run_cli("train", "--config", tiny_config, "--train.epochs", "2"), str(out), "--force")
    assert run_cli("train", "--config", tiny_config, "--train.epochs", "1", "--force").returncode == 0


@pytest.mark.parametrize("edit, needles", [
    (lambda s: s.replace("seed: 7", "seed: 7\nseeed: 3"), ["unknown config key 'seeed'"]),
    (lambda s: s.replace("epochs: 40", "epochs: lots"), ["train.epochs", "must be int"]),
    (lambda s: s.replace("name: tiny", "name: tiny\nlabels: [terrorism, propaganda]"), ["unknown label 'propaganda'"]),
    (lambda s: s.replace("train: [", "train: [/no/such/file.jsonl, "), ["/no/such/file.jsonl", "not found"]),
])
def test_bad_configs(tiny_config, edit, needles):
    tiny_config.write_text(edit(tiny_config.read_text()))
    assert_user_error(run_cli("train", "--config", tiny_config), str(tiny_config) if "not found" not in needles else "", *needles)


def test_data_with_unknown_label(tiny_config, tiny_data):
    train_f, _ = tiny_data
    write_records(train_f, TINY[:4] + [("문장.", ["propaganda"])])
    assert_user_error(run_cli("train", "--config", tiny_config), f"{train_f}:5", "unknown label 'propaganda'")


def test_unwritable_output(tiny_config, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions: use a path under a file instead
        target = tmp_path / "afile" / "model"
        (tmp_path / "afile").write_text("x")
    else:
        target = locked / "model"
    assert_user_error(run_cli("train", "--config", tiny_config, "--output", target), str(target), "writable")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_training_keeps_previous_model(trained_tiny, tiny_config, tmp_path, sig):
    import shutil

    out = tmp_path / "runs" / "tiny"
    shutil.copytree(trained_tiny, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    log = tmp_path / "train.log"
    # No early stopping: the tiny model reaches dev F1 1.0 within seconds and would otherwise
    # finish before the signal arrives.
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "framing.cli", "train", "--config", str(tiny_config), "--force",
                                 "--train.epochs", "5000", "--train.patience", "1000000"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=default_sigint)
        deadline = time.time() + 120
        while b"step" not in log.read_bytes() and time.time() < deadline:  # the progress bar is running
            time.sleep(0.2)
        time.sleep(1)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    assert proc.returncode != 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    if sig == signal.SIGINT:
        assert b"Traceback" not in log.read_bytes() and b"interrupted" in log.read_bytes()
        assert proc.returncode == 130 and not list(out.parent.glob(".tiny.tmp-*"))


# ---------- eval ----------

def test_eval_compare_and_gate(trained_tiny, tmp_path):
    gold = write_records(tmp_path / "gold" / "g.jsonl", TINY, "g")
    floors = tmp_path / "floors.yaml"
    floors.write_text("gold: {terrorism: 0.5, solidarity: 1.01}\n")
    p = run_cli("eval", "--model", trained_tiny, "--gold", gold.parent, "--compare", trained_tiny,
                "--json", tmp_path / "r.json", "--markdown", tmp_path / "r.md", "--gate", floors)
    assert p.returncode == 1 and "gate failed: gold solidarity" in p.stderr_text and "terrorism" not in p.stderr_text
    report = json.loads((tmp_path / "r.json").read_text())["gold"]
    assert len(report) == 2 and report[0]["labels"]["terrorism"]["tp"] >= 1
    assert "| `terrorism` |" in (tmp_path / "r.md").read_text()
    floors.write_text("gold: {terrorism: 0.5, max_false_alarms_per_1000: 1000}\n")
    assert run_cli("eval", "--model", trained_tiny, "--gold", gold, "--gate", floors).returncode == 0
    floors.write_text("gold: {terror: 0.5}\n")
    assert_user_error(run_cli("eval", "--model", trained_tiny, "--gold", gold, "--gate", floors), "floors.yaml", "terror")


def test_eval_suites_sets_and_operating_points(trained_tiny, tmp_path):
    write_records(tmp_path / "gold" / "g.jsonl", TINY, "g")
    write_records(tmp_path / "stream" / "s.jsonl", TINY, "s")
    pairs = tmp_path / "pairs" / "p.jsonl"
    pairs.parent.mkdir()
    rows = [{"id": "p1", "kind": "spacing", "expect": "same", "a": {"text": TINY[0][0]}, "b": {"text": TINY[0][0].replace(" ", "  ")}},
            {"id": "p2", "kind": "sense", "expect": "flip", "label": "terrorism", "a": {"text": TINY[0][0]}, "b": {"text": "산업 혁명은 기술의 변화였다."}}]
    pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    suites = tmp_path / "suites.yaml"
    suites.write_text(f"gold: {{paths: [{tmp_path / 'gold'}]}}\nstream: {{paths: [{tmp_path / 'stream'}], operating_point: stream}}\n"
                      f"robustness: {{paths: [{pairs.parent}], kind: pairs}}\nmissing: {{paths: [{tmp_path / 'nope'}], optional: true}}\n")
    p = run_cli("eval", "--model", trained_tiny, "--suites", suites, "--json", tmp_path / "r.json")
    assert p.returncode == 0, p.stderr_text
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report) == {"gold", "stream", "robustness"}  # the optional set without files is skipped
    assert report["robustness"][0]["kinds"]["spacing"]["pairs"] == 1 and "## robustness" in p.stdout_text
    assert 0 <= report["robustness"][0]["other_sense_flagged"] <= 1
    assert "false alarms per 1,000" in p.stdout_text
    p = run_cli("eval", "--model", trained_tiny, "--suites", suites, "--set", "gold", "--json", tmp_path / "r.json")
    assert p.returncode == 0 and set(json.loads((tmp_path / "r.json").read_text())) == {"gold"}
    assert_user_error(run_cli("eval", "--model", trained_tiny, "--suites", suites, "--set", "golden"), "golden", "gold")
    assert_user_error(run_cli("eval", "--model", trained_tiny, "--suites", suites, "--operating-point", "sparse"), "sparse", "default")
    pairs.write_text('{"id": "x", "kind": "spacing"}\n')
    assert_user_error(run_cli("eval", "--model", trained_tiny, "--suites", suites, "--set", "robustness"), "p.jsonl:1", "expect")
