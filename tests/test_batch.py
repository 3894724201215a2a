"""`framing batch`: formats, rejects with file and line, counts that reconcile, refused output
folders, a full disk, and runs killed at any point that resume to the uninterrupted result."""

import csv
import errno
import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SEED, default_sigint, run_cli

from framing import batch as batch_mod
from framing.batch import Job, expand_batch_inputs, run_batch
from framing.errors import FramingError
from framing.labels import LABELS

KO = "푸틴 대통령은 카자흐스탄 사태가 외부 간섭이라고 말했다. 무장 테러리스트들이 공항을 공격했다."


def jsonl(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def archive(tmp_path) -> Path:
    """Every input kind, with every kind of bad record and file among good ones."""
    d = tmp_path / "archive"
    d.mkdir()
    jsonl(d / "a.jsonl", [{"id": "a1", "text": KO}, '{"id": "a2", "text": broken}', {"id": 3, "text": KO},
                          {"id": "a1", "text": KO}, {"id": "a5", "text": " "}, {"id": "a6", "text": None},
                          {"text": KO}, {"id": "a8", "text": 5}])
    with (d / "b.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "text"], ["b1", KO], ["b2", "첫 줄이다.\n" + KO]])
    pq.write_table(pa.table({"id": ["c1", "c2"], "text": [KO, None]}), d / "c.parquet")
    pq.write_table(pa.table({"id": ["d1"], "body": [KO]}), d / "d.parquet")  # wrong schema
    (d / "e.parquet").write_bytes((d / "c.parquet").read_bytes()[:200])  # truncated
    (d / "f.jsonl.gz").write_bytes(b"not gzip at all")  # unreadable
    (d / "g.jsonl.gz").write_bytes(gzip.compress(json.dumps({"id": "g1", "text": KO}, ensure_ascii=False).encode()))
    (d / "notes.txt").write_text("ignored: not an archive format")
    return d


@pytest.fixture
def repeated_ids(tmp_path) -> list[Path]:
    """Ids used again in later files of every format, and once within a file."""
    d = tmp_path / "repeats"
    d.mkdir()
    x = jsonl(d / "x.jsonl", [{"id": "n1", "text": KO}, {"id": 7, "text": KO}])
    with (d / "y.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["id", "text"], ["7", KO], ["y2", KO]])  # "7": the integer 7 of x.jsonl
    pq.write_table(pa.table({"id": ["y2", "z2", "n1"], "text": [KO] * 3}), d / "z.parquet")
    w = jsonl(d / "w.jsonl", [{"id": "z2", "text": KO}, {"id": "w2", "text": KO}, {"id": "w2", "text": KO}])
    return [x, d / "y.csv", d / "z.parquet", w]


def job(inputs, out, model, **kw) -> Job:
    return Job(tuple(expand_batch_inputs([str(i) for i in inputs])), str(out), str(model), {}, **kw)


def snapshot(out: Path) -> dict:
    """Everything a run produced except timings."""
    manifest = json.loads((out / "manifest.json").read_text())
    parts = {p.relative_to(out).as_posix(): pq.read_table(p).to_pylist() for p in sorted(out.glob("*/part-*.parquet"))}
    return {"parts": parts, "rejects": (out / "rejects.jsonl").read_text(), "counts": manifest["counts"],
            "inputs": manifest["inputs"]}


def test_batch_cli_formats_rejects_and_counts(trained_tiny, archive, tmp_path):
    out = tmp_path / "out"
    p = run_cli("batch", archive, "-o", out, "-m", trained_tiny, "--shard-size", "2")
    assert p.returncode == 1, p.stderr_text
    assert "Traceback" not in p.stderr_text and "rejected 7 record(s); 3 file(s) unreadable" in p.stderr_text
    manifest = json.loads((out / "manifest.json").read_text())
    c = manifest["counts"]
    assert c["records_read"] == c["documents_scored"] + c["records_rejected"] == 13
    assert c["documents_scored"] == 6 and c["sentences"] == 13
    assert [i["path"].split("/")[-1] for i in manifest["inputs"]] == ["a.jsonl", "b.csv", "c.parquet", "d.parquet", "e.parquet",
                                                                     "f.jsonl.gz", "g.jsonl.gz"]
    assert manifest["inputs"][0]["size"] > 0 and len(manifest["inputs"][0]["sha256"]) == 64
    assert manifest["model"]["sha256"] and set(manifest["thresholds"]) == set(LABELS) and "pyarrow" in manifest["versions"]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    where = [(r["file"].split("/")[-1], r.get("line", r.get("row")), r["code"]) for r in rejects]
    assert where == [("a.jsonl", 2, "E006"), ("a.jsonl", 4, "E515"), ("a.jsonl", 5, "E010"), ("a.jsonl", 6, "E007"),
                     ("a.jsonl", 7, "E514"), ("a.jsonl", 8, "E007"), ("c.parquet", 1, "E007"), ("d.parquet", None, "E513"),
                     ("e.parquet", None, "E516"), ("f.jsonl.gz", None, "E516")]
    assert "(it is null)" in rejects[3]["reason"] and "--text-field" in rejects[7]["reason"]
    sentences = pq.read_table(out / "sentences")
    assert sentences.column_names == ["file", "document", "index", "start", "end", "text"] + [f"p_{x}" for x in LABELS] + ["labels"]
    rows = sentences.to_pylist()
    assert {r["document"] for r in rows} == {"a1", "3", "b1", "b2", "c1", "g1"}
    b2 = [r for r in rows if r["document"] == "b2"]
    assert [r["index"] for r in b2] == [0, 1, 2] and b2[1]["text"] == ("첫 줄이다.\n" + KO)[b2[1]["start"]:b2[1]["end"]]
    docs = {r["document"]: r for r in pq.read_table(out / "documents").to_pylist()}
    assert docs["b2"]["sentences"] == 3 and 0 <= docs["b2"]["share_terrorism"] <= 1
    assert docs["a1"]["max_terrorism"] == pytest.approx(max(r["p_terrorism"] for r in rows if r["document"] == "a1"))
    assert not list(out.rglob("*.tmp-*"))


def test_bad_inputs_and_output_folders_are_refused(trained_tiny, archive, tmp_path):
    with pytest.raises(FramingError, match="E008"):
        expand_batch_inputs([str(tmp_path / "nope-*.jsonl")])
    with pytest.raises(FramingError, match="E512.*notes.txt"):
        expand_batch_inputs([str(archive / "notes.txt")])
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    good = [archive / "g.jsonl.gz"]
    for overwrite in (False, True):
        with pytest.raises(FramingError, match="E517.*not a `framing batch` output"):
            run_batch(job(good, other, trained_tiny), overwrite=overwrite)
    assert (other / "keep.txt").exists()
    out = tmp_path / "out"
    run_batch(job(good, out, trained_tiny))
    with pytest.raises(FramingError, match="E518.*different thresholds.*--overwrite"):
        run_batch(Job(tuple(map(str, good)), str(out), str(trained_tiny), {"terrorism": 0.1}))
    with pytest.raises(FramingError, match="E518.*different inputs"):
        run_batch(job([archive / "b.csv"], out, trained_tiny))
    manifest = run_batch(Job(tuple(map(str, good)), str(out), str(trained_tiny), {"terrorism": 0.0}), overwrite=True)
    assert manifest["thresholds"]["terrorism"] == 0.0
    assert all("terrorism" in r["labels"] for r in pq.read_table(out / "sentences").to_pylist())
    with pytest.raises(FramingError, match="E006.*a.jsonl:2"):  # --strict: the first bad record stops the run
        run_batch(job([archive / "a.jsonl"], tmp_path / "strict", trained_tiny, strict=True))


def test_ids_repeated_across_files_are_rejected_naming_the_first_use(trained_tiny, repeated_ids, tmp_path):
    x, y, z, _ = (str(p) for p in repeated_ids)
    counts = run_batch(job(repeated_ids, tmp_path / "out", trained_tiny, shard_size=1))["counts"]
    assert counts["records_read"] == 10 and counts["documents_scored"] == 5 and counts["records_rejected"] == 5
    rejects = [json.loads(line) for line in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert [(r["file"].split("/")[-1], r.get("line", r.get("row")), r["code"]) for r in rejects] == [
        ("y.csv", 2, "E515"), ("z.parquet", 0, "E515"), ("z.parquet", 2, "E515"), ("w.jsonl", 1, "E515"), ("w.jsonl", 3, "E515")]
    assert [r["reason"].split(", first at ")[1].split(". Ids")[0] for r in rejects] == [
        f"line 2 of {x}", f"line 3 of {y}", f"line 1 of {x}", f"row 1 of {z}", "line 2 of this file"]
    assert "unique across all inputs" in rejects[0]["reason"]
    docs = [(r["file"].split("/")[-1], r["document"]) for r in pq.read_table(tmp_path / "out" / "documents").to_pylist()]
    assert docs == [("x.jsonl", "n1"), ("x.jsonl", "7"), ("y.csv", "y2"), ("z.parquet", "z2"), ("w.jsonl", "w2")]
    with pytest.raises(FramingError, match="E515.*y.csv:2.*first at line 2 of"):  # --strict stops at the first
        run_batch(job(repeated_ids, tmp_path / "strict", trained_tiny, strict=True))


def test_full_disk_leaves_nothing_half_written_and_resumes(trained_tiny, archive, tmp_path, monkeypatch):
    out, good = tmp_path / "out", [archive / "a.jsonl", archive / "b.csv"]
    real_write = pq.write_table
    calls = []

    def full_disk(table, where, **kw):
        calls.append(where)
        if len(calls) == 2:  # the second part: the first is whole, the disk fills during the next
            Path(where).write_bytes(b"PAR1 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", full_disk)
    with pytest.raises(FramingError, match="E306.*No space left on device"):
        run_batch(job(good, out, trained_tiny, shard_size=2))
    assert not list(out.rglob("*.tmp-*")) and not (out / "manifest.json").exists()
    assert len(list((out / "sentences").glob("*.parquet"))) == 1 and not list((out / "shards").glob("*.json"))
    monkeypatch.setattr(pq, "write_table", real_write)
    run_batch(job(good, out, trained_tiny, shard_size=2))
    assert snapshot(out) == snapshot_of_fresh_run(good, tmp_path / "fresh", trained_tiny, shard_size=2)


def snapshot_of_fresh_run(inputs, out, model, **kw) -> dict:
    run_batch(job(inputs, out, model, **kw))
    return snapshot(out)


def test_interrupted_at_every_write_resumes_to_the_same_result(trained_tiny, archive, tmp_path, monkeypatch):
    inputs = [archive / "a.jsonl", archive / "b.csv", archive / "c.parquet", archive / "e.parquet"]
    expected = snapshot_of_fresh_run(inputs, tmp_path / "fresh", trained_tiny, shard_size=2)
    real = batch_mod.atomic_write
    for k in range(1, 100):  # run.json, then 3 files per part, then rejects.jsonl and manifest.json
        out, count = tmp_path / f"out{k}", [0]

        def interrupt(path, write):
            count[0] += 1
            if count[0] == k:
                raise KeyboardInterrupt
            real(path, write)

        monkeypatch.setattr(batch_mod, "atomic_write", interrupt)
        try:
            run_batch(job(inputs, out, trained_tiny, shard_size=2))
            break  # fewer than k writes: every point has been tried
        except KeyboardInterrupt:
            pass
        monkeypatch.setattr(batch_mod, "atomic_write", real)
        run_batch(job(inputs, out, trained_tiny, shard_size=2))
        assert snapshot(out) == expected, k
    assert k == 3 * 6 + 3 + 1


N_BIG = 40


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory, trained_tiny):
    """40 articles (the seed's first half) and the snapshot of an uninterrupted run over them. Many
    one-article shards, so that a loaded machine cannot finish them all between the test seeing
    the second shard and its signal arriving (with 8 it once did)."""
    tmp = tmp_path_factory.mktemp("big")
    lines = SEED.read_text(encoding="utf-8").splitlines()
    article = "\n".join(lines[: len(lines) // 2])
    src = jsonl(tmp / "big.jsonl", [{"id": i, "text": article} for i in range(N_BIG)])
    return src, snapshot_of_fresh_run([src], tmp / "fresh", trained_tiny, shard_size=1)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_cli_run_resumes_without_rescoring(trained_tiny, big_archive, tmp_path, sig):
    src, expected = big_archive
    out, log = tmp_path / "out", tmp_path / "log"
    cmd = [sys.executable, "-m", "framing.cli", "batch", str(src), "-o", str(out), "-m", str(trained_tiny), "--shard-size", "1"]
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=default_sigint)
        deadline = time.time() + 120
        while len(list((out / "shards").glob("*.json"))) < 2 and time.time() < deadline:
            time.sleep(0.02)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    done = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.json")}
    assert proc.returncode != 0 and 2 <= len(done) < N_BIG and not (out / "manifest.json").exists()
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and b"run the same command again to resume" in log.read_bytes()
        assert b"Traceback" not in log.read_bytes()
    p = run_cli(*cmd[3:])
    assert p.returncode == 0, p.stderr_text
    assert all((out / "shards" / name).stat().st_mtime_ns == t for name, t in done.items())  # not re-scored
    assert snapshot(out) == expected


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 CPUs for the module (it takes 10-20 s to start)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def assert_same_output(local: dict, rayed: dict) -> None:
    """The same rejects, counts and rows; probabilities within 1e-4."""
    assert rayed["rejects"] == local["rejects"] and rayed["counts"] == local["counts"] and rayed["parts"].keys() == local["parts"].keys()
    for part, rows in local["parts"].items():
        assert len(rayed["parts"][part]) == len(rows)
        for mine, theirs in zip(rows, rayed["parts"][part]):
            close = {k for k in mine if k.startswith(("p_", "max_", "share_"))}
            assert {k: v for k, v in mine.items() if k not in close} == {k: v for k, v in theirs.items() if k not in close}
            assert all(abs(mine[k] - theirs[k]) <= 1e-4 for k in close), part


def test_ray_engine_writes_what_the_local_engine_writes(trained_tiny, archive, tmp_path, local_ray):
    inputs = [archive / "a.jsonl", archive / "b.csv", archive / "c.parquet", archive / "e.parquet", archive / "g.jsonl.gz"]
    local = snapshot_of_fresh_run(inputs, tmp_path / "local", trained_tiny, shard_size=2)
    manifest = run_batch(job(inputs, tmp_path / "ray", trained_tiny, shard_size=2), engine="ray", num_workers=2)
    assert manifest["engine"] == "ray" and "ray" in manifest["versions"]
    assert_same_output(local, snapshot(tmp_path / "ray"))


def test_ray_engine_rejects_repeated_ids_as_the_local_engine_does(trained_tiny, repeated_ids, tmp_path, local_ray):
    """Files are read in parallel, yet the first use of an id is the first in input order."""
    local = snapshot_of_fresh_run(repeated_ids, tmp_path / "local", trained_tiny, shard_size=1)
    run_batch(job(repeated_ids, tmp_path / "ray", trained_tiny, shard_size=1), engine="ray", num_workers=2)
    assert_same_output(local, snapshot(tmp_path / "ray"))


def test_ray_engine_resumes_a_run_without_rescoring(trained_tiny, archive, tmp_path, local_ray):
    inputs, out = [archive / "a.jsonl", archive / "b.csv", archive / "c.parquet"], tmp_path / "out"
    expected = snapshot_of_fresh_run(inputs, out, trained_tiny, shard_size=2)
    shards = sorted((out / "shards").glob("*.json"))
    for lost in shards[1::2]:  # as if killed: every other chunk not done, one of them with a part already written
        lost.unlink()
    (out / "sentences" / shards[1].with_suffix(".parquet").name).unlink()
    done = {p.name: p.stat().st_mtime_ns for p in (out / "shards").glob("*.json")}
    run_batch(job(inputs, out, trained_tiny, shard_size=2), engine="ray", num_workers=2)
    assert all((out / "shards" / name).stat().st_mtime_ns == t for name, t in done.items())
    assert len(list((out / "shards").glob("*.json"))) == len(shards)
    assert_same_output(expected, snapshot(out))
