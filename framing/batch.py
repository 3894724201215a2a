"""`framing batch`: score archives (JSONL, CSV, Parquet; files, folders, globs, fsspec URLs) into
Parquet shards with bounded memory, losing no record, resumable after a kill.

Each input file is read as a stream and cut into chunks of ``shard_size`` records; chunk C of
input F (in input order) becomes ``part-FFFFF-CCCCC`` in ``sentences/`` and ``documents/``, and
last ``shards/part-FFFFF-CCCCC.json`` (its counts and rejected records). Every file is written to
a temporary name and renamed into place, so a chunk is done exactly when its shard record
exists: a rerun re-reads the inputs but scores only chunks without one. ``run.json`` holds the
settings that make two runs the same job (inputs, model hash, thresholds, fields, shard size);
``rejects.jsonl`` and ``manifest.json`` are written when all chunks are done.

A document id may be used once in the whole run: ``SeenIds`` rejects a repeat, in the same file
or a later one, naming where it was first seen. Both engines run the same steps per chunk:
``read_chunks`` (read and check records), ``SeenIds.claim``, ``score_chunk``, ``write_chunk``;
the local engine one chunk after another, the Ray engine (``framing.batch_ray``) on Ray Data."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from framing.errors import Errors, FramingError
from framing.textio import parse_json_line, record_text

FORMAT = "framing-batch/1"
SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
COMPRESSION = (".gz", ".bz2", ".xz", ".zst")
READ_ERRORS = (OSError, ValueError, csv.Error, pa.ArrowException)


@dataclasses.dataclass(frozen=True)
class Job:
    """Everything a worker needs to score files into ``out``; picklable for Ray."""
    files: tuple[str, ...]
    out: str
    model: str
    thresholds: dict
    text_field: str = "text"
    id_field: str = "id"
    shard_size: int = 1000
    strict: bool = False
    batch_size: int = 32
    device: str = "auto"

    def settings(self, model_sha256: str) -> dict:  # what a resumed run must share with the first
        return {"format": FORMAT, "inputs": list(self.files), "model_sha256": model_sha256, "thresholds": self.thresholds,
                "text_field": self.text_field, "id_field": self.id_field, "shard_size": self.shard_size}


# ---------- inputs ----------

def file_format(path: str) -> str | None:
    name = path.lower()
    name = name[: -len(next((c for c in COMPRESSION if name.endswith(c)), ""))] or name
    return next((fmt for suffix, fmt in SUFFIXES.items() if name.endswith(suffix)), None)


def expand_batch_inputs(inputs: list[str]) -> list[str]:
    """Files, folders (searched recursively), globs and fsspec URLs (s3://…, when the filesystem
    package is installed), in a stable order. Refuses before anything is written."""
    import fsspec

    paths: list[str] = []
    for item in inputs:
        try:
            fs, root = fsspec.core.url_to_fs(item)
        except (ImportError, ValueError) as err:
            raise FramingError(Errors.E511, path=item, problem=str(err).splitlines()[0]) from None
        local = "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))
        name = (lambda p: p if local and not item.startswith("file://") else fs.unstrip_protocol(p))
        if fs.isdir(root):
            found = sorted(p for p in fs.find(root) if file_format(p))
            if not found:
                raise FramingError(Errors.E009, path=item, kinds=".jsonl, .csv or .parquet")
        elif fs.isfile(root):
            found = [root]
        else:
            found = sorted(p for p in fs.glob(root) if fs.isfile(p))
            if not found:
                raise FramingError(Errors.E008, path=item)
        for p in found:
            if not file_format(p):
                raise FramingError(Errors.E512, path=name(p))
        paths += [name(p) for p in found]
    return list(dict.fromkeys(paths))


def _check_columns(path: str, columns: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise FramingError(Errors.E513, path=path, field=missing[0], columns=", ".join(columns[:20]))


def iter_records(path: str, fields: list[str]) -> Iterator[tuple[int, dict | FramingError]]:
    """(line or row, record) for each record of one file, streamed; a line that is not JSON or
    not UTF-8 comes as its FramingError. Raises FramingError when the file cannot be read (wrong
    schema E513, anything else E516: not Parquet, truncated, unreadable)."""
    try:
        yield from _read(path, fields)
    except READ_ERRORS as err:  # not raised by the consumer's code: a generator only sees its own
        raise FramingError(Errors.E516, path=path, problem=f"{type(err).__name__}: {str(err).splitlines()[0][:200]}") from None


def _read(path: str, fields: list[str]) -> Iterator[tuple[int, dict | FramingError]]:
    import fsspec

    fmt = file_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with fsspec.open(path, "rb") as fh:
            pf = pq.ParquetFile(fh)
            _check_columns(path, pf.schema_arrow.names, fields)
            row = 0
            for batch in pf.iter_batches(batch_size=1024, columns=fields):
                for record in batch.to_pylist():
                    yield row, record
                    row += 1
    elif fmt == "csv":
        csv.field_size_limit(2**31 - 1)  # a whole article in one cell
        with fsspec.open(path, "rt", encoding="utf-8-sig", newline="", compression="infer") as fh:
            reader = csv.DictReader(fh)
            _check_columns(path, reader.fieldnames or [], fields)
            for record in reader:
                yield reader.line_num, record
    else:
        with fsspec.open(path, "rb", compression="infer") as fh:
            for n, raw in enumerate(fh, start=1):
                if not raw.strip():
                    continue
                try:
                    yield n, parse_json_line(raw.decode("utf-8-sig" if n == 1 else "utf-8"), path, n)
                except UnicodeDecodeError as err:
                    yield n, FramingError(Errors.E006, path=path, line=n, problem=f"not UTF-8 at byte {err.start}")
                except FramingError as err:
                    yield n, err


def position_key(path: str) -> str:
    """Where a record is in its file: the line of JSONL and CSV, the 0-based row of Parquet."""
    return "row" if file_format(path) == "parquet" else "line"


def check_record(record, path: str, pos: int, job: Job) -> tuple[str, str]:
    """(id, text) of a good record, or the FramingError that rejects it. Whether the id was used
    before is for ``SeenIds``."""
    if isinstance(record, FramingError):
        raise record
    text = record_text(record, path, pos, job.text_field)
    doc_id = record.get(job.id_field)
    if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)) or not str(doc_id).strip():
        got = "missing" if job.id_field not in record else "null" if doc_id is None else repr(doc_id)[:40]
        raise FramingError(Errors.E514, path=path, line=pos, field=job.id_field, got=got)
    return str(doc_id), text


@dataclasses.dataclass
class Chunk:
    """Chunk ``number`` of input ``file`` (its index in ``Job.files``): how many records were read,
    the good documents ({"pos", "id", "text"}) and the rejected records. The chunk after the last
    one of a file that could not be read (further) carries only that file's reject, ``failure``."""
    file: int
    number: int
    path: str
    records: int = 0
    docs: list = dataclasses.field(default_factory=list)
    rejects: list = dataclasses.field(default_factory=list)
    failure: dict | None = None

    @property
    def part(self) -> str:
        return f"part-{self.file:05d}-{self.number:05d}"

    def reject(self, pos: int, err: FramingError, strict: bool) -> None:
        if strict:
            raise err
        self.rejects.append({"file": self.path, position_key(self.path): pos, "code": err.code, "reason": err.message})


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_chunks(index: int, path: str, job: Job) -> Iterator[Chunk]:
    """The chunks of input ``index``, every record checked; a file that cannot be read (wrong
    schema, truncated, corrupt) ends with a failure chunk, the chunks before it stand."""
    number = -1
    try:
        for number, items in enumerate(_chunks(iter_records(path, [job.text_field, job.id_field]), job.shard_size)):
            chunk = Chunk(index, number, path, len(items))
            for pos, record in items:
                try:
                    doc_id, text = check_record(record, path, pos, job)
                    chunk.docs.append({"pos": pos, "id": doc_id, "text": text})
                except FramingError as err:
                    chunk.reject(pos, err, job.strict)
            yield chunk
    except FramingError as err:  # raised by the reader (or by --strict above): not by the consumer
        if job.strict:
            raise
        yield Chunk(index, number + 1, path, failure={"file": path, "code": err.code, "reason": err.message})


class SeenIds:
    """Where each document id of the run was first seen, so that an id used again, in the same
    file or a later one, is rejected (E515) with the place of its first use. Chunks must be
    claimed in input order. The ids are kept in a private temporary SQLite file (deleted when
    the process ends), not in memory: RAM stays within its 64 MB page cache whatever the size of
    the archive, for about the id's length + 20 bytes of temporary disk per id and 10-20 µs per
    record (measured with 40-character ids, up to a million). A Python dict of those ids would
    hold ~150 bytes of RAM per id: 1.5 GB for 10 million."""

    def __init__(self, files: tuple[str, ...]):
        self.files = files
        self.db = sqlite3.connect("", check_same_thread=False)  # "": a temporary file; one user at a time
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA cache_size=-65536;"
                              "CREATE TABLE ids (id TEXT PRIMARY KEY, file INTEGER, pos INTEGER) WITHOUT ROWID;")

    def claim(self, chunk: Chunk, strict: bool) -> None:
        """Record the ids of ``chunk``'s documents; move those seen before to its rejects."""
        docs = []
        for doc in chunk.docs:
            if self.db.execute("INSERT OR IGNORE INTO ids VALUES (?, ?, ?)", (doc["id"], chunk.file, doc["pos"])).rowcount:
                docs.append(doc)
                continue
            file, pos = self.db.execute("SELECT file, pos FROM ids WHERE id = ?", (doc["id"],)).fetchone()
            first = f"{position_key(self.files[file])} {pos} of {'this file' if file == chunk.file else self.files[file]}"
            chunk.reject(doc["pos"], FramingError(Errors.E515, path=chunk.path, line=doc["pos"], id=doc["id"], first=first), strict)
        chunk.docs = docs
        self.db.commit()


# ---------- scoring and writing ----------

def score_chunk(framer, chunk: Chunk, job: Job) -> tuple[tuple[pa.Table, pa.Table], dict]:
    """The (sentences, documents) Arrow tables of a chunk's documents, and its shard record."""
    from framing.model.splitter import split_sentences

    path, ids = chunk.path, [d["id"] for d in chunk.docs]
    split = [split_sentences(d["text"]) for d in chunk.docs]
    flat = [s for sents in split for s in sents]
    probs = framer.predict_proba([s.text for s in flat], batch_size=job.batch_size)
    on = framer.decide(probs, job.thresholds)
    sentences = {"file": [path] * len(flat), "document": [d for d, sents in zip(ids, split) for _ in sents],
                 "index": [i for sents in split for i in range(len(sents))],
                 "start": [s.start for s in flat], "end": [s.end for s in flat], "text": [s.text for s in flat]}
    sentences |= {f"p_{label}": probs[:, j] for j, label in enumerate(framer.labels)}
    sentences["labels"] = [[label for label, v in zip(framer.labels, row) if v] for row in on]
    lengths = np.array([len(s) for s in split], dtype=np.int32)
    spans = list(zip(np.cumsum(lengths) - lengths, np.cumsum(lengths)))
    documents = {"file": [path] * len(ids), "document": ids, "sentences": lengths}
    for j, label in enumerate(framer.labels):
        documents[f"n_{label}"] = n = np.array([on[a:b, j].sum() for a, b in spans], dtype=np.int32)
        documents[f"share_{label}"] = n / np.maximum(lengths, 1)
        documents[f"max_{label}"] = np.array([probs[a:b, j].max(initial=0.0) for a, b in spans], dtype=np.float32)
    int32 = {"index", "start", "end", "sentences"}
    as_table = (lambda cols: pa.table({k: pa.array(v, pa.int32()) if k in int32 else v for k, v in cols.items()}))
    shard = {"part": chunk.part, "file": path, "records": chunk.records, "documents": len(ids), "sentences": len(flat),
             "rejects": chunk.rejects}
    return (as_table(sentences), as_table(documents)), shard


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp)``, then rename tmp to ``path``; nothing is left half-written."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise FramingError(Errors.E306, path=path, problem=err.strerror or str(err)) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, obj) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8"))


def is_done(job: Job, chunk: Chunk) -> bool:
    return (Path(job.out) / "shards" / f"{chunk.part}.json").exists()


def write_chunk(out: Path, part: str, tables, shard: dict) -> None:
    import pyarrow.parquet as pq

    for folder, table in zip(("sentences", "documents"), tables):
        atomic_write(out / folder / f"{part}.parquet", lambda tmp, t=table: pq.write_table(t, str(tmp)))
    write_json(out / "shards" / f"{part}.json", shard)  # last: the chunk is done


# ---------- the run ----------

def sha256(path: str) -> str:
    import fsspec

    digest = hashlib.sha256()
    with fsspec.open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def model_sha256(directory: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(p for p in Path(directory).iterdir() if p.is_file()):
        digest.update(f.name.encode() + b"\0" + sha256(str(f)).encode())
    return digest.hexdigest()


def prepare_output(out: Path, settings: dict, overwrite: bool) -> None:
    """Create ``out``, or resume in it when it holds the same job; refuse anything else."""
    run = out / "run.json"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not run.exists():
            raise FramingError(Errors.E517, path=out)
        if overwrite:
            shutil.rmtree(out)
        else:
            try:
                old = json.loads(run.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                old = {}
            differ = [k for k in settings if old.get(k) != settings[k]]
            if differ:
                raise FramingError(Errors.E518, path=out, keys=", ".join(differ))
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not run.exists():
            write_json(run, settings)  # before anything else: a folder with content always has one
        for folder in ("sentences", "documents", "shards"):
            (out / folder).mkdir(exist_ok=True)
    except OSError as err:
        raise FramingError(Errors.E306, path=out, problem=err.strerror or str(err)) from None


def _versions(engine: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from framing.training.artifacts import library_versions

    out = library_versions()
    for name in ("pyarrow", "fsspec", "datasets") + (("ray",) if engine == "ray" else ()):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def finish(job: Job, failures: list[dict], settings: dict, engine: str, seconds: float) -> dict:
    """rejects.jsonl and manifest.json from the shard records and the unreadable files."""
    out = Path(job.out)
    shards = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / "shards").glob("part-*.json"))]
    rejects = [r for s in shards for r in s["rejects"]] + failures
    order = {f: i for i, f in enumerate(job.files)}
    rejects.sort(key=lambda r: (order[r["file"]], r.get("line", r.get("row", float("inf")))))
    atomic_write(out / "rejects.jsonl", lambda tmp: tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rejects),
                                                                    encoding="utf-8"))
    counts = {k: sum(s[k] for s in shards) for k in ("records", "documents", "sentences")}
    counts = {"records_read": counts["records"], "documents_scored": counts["documents"],
              "records_rejected": counts["records"] - counts["documents"], "files_unreadable": len(failures),
              "sentences": counts["sentences"], "parts": len(shards)}
    failed = {r["file"] for r in failures}
    inputs = [{"path": f, "size": None, "sha256": None} if f in failed else
              {"path": f, "size": _size(f), "sha256": sha256(f)} for f in job.files]
    manifest = {**settings, "inputs": inputs, "model": {"path": job.model, "sha256": settings["model_sha256"]},
                "counts": counts, "engine": engine,
                "timings": {"seconds_this_run": round(seconds, 2),
                            "documents_per_s": round(counts["documents_scored"] / max(seconds, 1e-9), 1),
                            "sentences_per_s": round(counts["sentences"] / max(seconds, 1e-9), 1),
                            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "versions": _versions(engine)}
    write_json(out / "manifest.json", manifest)
    return manifest


def _size(path: str) -> int:
    import fsspec

    fs, root = fsspec.core.url_to_fs(path)
    return int(fs.size(root))


def run_local(job: Job) -> list[dict]:
    """Every chunk of every file in turn, in this process; returns the unreadable files' rejects."""
    from tqdm import tqdm

    from framing.model.framer import Framer

    framer = Framer.load(job.model, device=job.device)
    ids, failures = SeenIds(job.files), []
    started, sentences = time.perf_counter(), 0
    with tqdm(desc="batch", unit="doc", file=sys.stderr, mininterval=1.0) as bar:
        for index, path in enumerate(job.files):
            for chunk in read_chunks(index, path, job):
                ids.claim(chunk, job.strict)
                if chunk.failure:
                    failures.append(chunk.failure)
                elif not is_done(job, chunk):
                    tables, shard = score_chunk(framer, chunk, job)
                    write_chunk(Path(job.out), chunk.part, tables, shard)
                    sentences += shard["sentences"]
                    bar.update(shard["documents"])
                    bar.set_postfix(sent_per_s=f"{sentences / (time.perf_counter() - started):.1f}", refresh=False)
    return failures


def run_batch(job: Job, engine: str = "local", num_workers: int = 0, overwrite: bool = False) -> dict:
    """Run (or resume) a batch job; returns the manifest."""
    from framing.model.framer import read_meta

    meta = read_meta(Path(job.model))
    job = dataclasses.replace(job, thresholds={**{k: float(v) for k, v in meta["thresholds"].items()}, **job.thresholds})
    settings = job.settings(model_sha256(Path(job.model)))
    prepare_output(Path(job.out), settings, overwrite)
    started = time.perf_counter()
    if engine == "ray":
        from framing.batch_ray import run_ray

        failures = run_ray(job, num_workers)
    else:
        failures = run_local(job)
    return finish(job, failures, settings, engine, time.perf_counter() - started)
