"""`framing batch --engine ray`: the local engine's job as a Ray Data pipeline.

    read_datasource(ChunkSource)   a read task per input file: the local engine's reader and record
                                   checks (``read_chunks``), one row per chunk of --shard-size records
    map_batches(ClaimIds)          one actor, chunks in input order: ids used before -> rejects;
                                   chunks already done (resuming) leave the pipeline here
    map_batches(ChunkScorer)       an actor pool of --num-workers, one loaded model per actor
    write_datasink(PartSink)       each chunk's parts and shard record, by the local engine's writer

So both engines write the same parts, rejects and manifest, and a run of either resumes a run of
the other. Ray's own file readers and writers do not fit this job: ``read_json``/``read_csv``
stop a whole file at its first malformed line and keep no line numbers (rejects need file:line),
``read_json`` also refuses ids that are integers in one line and strings in another; and
``write_parquet`` names files by write task, not by input and chunk, writes them in place
(a killed run leaves half-written files that look whole) and writes one table, where a chunk is
done only when its sentences, documents and shard record are all renamed into place. The
Datasink keeps Ray Data's writing (write tasks, backpressure) with that atomic writer.

Reading, the id check and writing take no CPU from Ray's accounting (they are light, and the
scoring actors hold the CPUs: a read task would wait for one forever), and at most as many read
and write tasks as scoring actors run at once (each runs in a process of its own: on 2 busy cores,
starting one per input file took longer than the reading)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import ray
from ray.data import Datasink, Datasource, ReadTask
from ray.data.block import BlockAccessor, BlockMetadata

from framing.batch import Chunk, Job, SeenIds, is_done, read_chunks, score_chunk, write_chunk
from framing.errors import FramingError

CHUNK = pa.schema([("file", pa.int32()), ("number", pa.int32()), ("path", pa.string()), ("records", pa.int64()),
                   ("docs", pa.list_(pa.struct([("pos", pa.int64()), ("id", pa.string()), ("text", pa.string())]))),
                   ("rejects", pa.string()), ("failure", pa.string())])  # rejects, failure: JSON
SCORED = pa.schema([("part", pa.string()), ("sentences", pa.binary()), ("documents", pa.binary()), ("shard", pa.string()),
                    ("failure", pa.string())])  # sentences, documents: Arrow IPC streams


def to_rows(chunks: list[Chunk]) -> pa.Table:
    return pa.Table.from_pylist([{**dataclasses.asdict(c), "rejects": json.dumps(c.rejects), "failure": json.dumps(c.failure)}
                                 for c in chunks], CHUNK)


def from_rows(table: pa.Table) -> list[Chunk]:
    return [Chunk(**{**r, "rejects": json.loads(r["rejects"]), "failure": json.loads(r["failure"])}) for r in table.to_pylist()]


def ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class ChunkSource(Datasource):
    def __init__(self, job: Job):
        super().__init__()
        self.job = job

    def estimate_inmemory_data_size(self) -> None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None) -> list[ReadTask]:
        def read(index: int, path: str):
            return (to_rows([chunk]) for chunk in read_chunks(index, path, self.job))

        return [ReadTask(lambda i=i, p=p: read(i, p), BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=[p]))
                for i, p in enumerate(self.job.files)]


class ClaimIds:
    """The run's one ``SeenIds``, in one actor with one call in flight at a time; the dataset
    preserves order, so chunks arrive in input order, as in the local engine. A chunk out of order,
    or a restarted actor, stops the run rather than let the first use of an id depend on timing."""

    def __init__(self, job: Job):
        if ray.get_runtime_context().was_current_actor_reconstructed:  # Ray restarted it: the ids seen are lost
            raise RuntimeError("the id check's actor was restarted; run the same command again to resume")
        self.job, self.ids, self.last = job, SeenIds(job.files), (-1, -1)

    def __call__(self, batch: pa.Table) -> pa.Table:
        chunks = from_rows(batch)
        for chunk in chunks:
            if (chunk.file, chunk.number) <= self.last:
                raise RuntimeError(f"{chunk.part} reached the id check after part {self.last}: input order was lost")
            self.last = (chunk.file, chunk.number)
            self.ids.claim(chunk, self.job.strict)
        return to_rows([c for c in chunks if c.failure or not is_done(self.job, c)])


class ChunkScorer:
    """A Ray actor: loads the model once, then scores chunks."""

    def __init__(self, job: Job, threads: int):
        import torch

        from framing.model.framer import Framer

        torch.set_num_threads(threads)
        self.job, self.framer = job, Framer.load(job.model, device=job.device)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = []
        for chunk in from_rows(batch):
            if chunk.failure:
                rows.append({"part": chunk.part, "failure": json.dumps(chunk.failure)})
                continue
            (sentences, documents), shard = score_chunk(self.framer, chunk, self.job)
            rows.append({"part": chunk.part, "sentences": ipc(sentences), "documents": ipc(documents), "shard": json.dumps(shard)})
        return pa.Table.from_pylist(rows, SCORED)


class PartSink(Datasink):
    """Writes each scored chunk with ``write_chunk``; gathers the unreadable files' rejects."""

    def __init__(self, out: str):
        self.out, self.failures = out, []

    def write(self, blocks, ctx) -> list[dict]:
        failures = []
        for block in blocks:
            for row in BlockAccessor.for_block(block).to_arrow().to_pylist():
                if row["failure"]:
                    failures.append(json.loads(row["failure"]))
                else:
                    tables = [pa.ipc.open_stream(row[k]).read_all() for k in ("sentences", "documents")]
                    write_chunk(Path(self.out), row["part"], tables, json.loads(row["shard"]))
        return failures

    def on_write_complete(self, write_result) -> None:
        self.failures = [f for returned in write_result.write_returns for f in returned]


def run_ray(job: Job, num_workers: int) -> list[dict]:
    """Run the pipeline; returns the unreadable files' rejects. Connects to RAY_ADDRESS when set,
    else starts (or reuses) a local Ray. ``num_workers`` scoring actors (default: one per CPU),
    a GPU each on a cluster that has one per actor and ``--device`` allows."""
    if not ray.is_initialized():
        ray.init(log_to_driver=False)
    resources = ray.cluster_resources()
    workers = num_workers or max(1, int(resources.get("CPU", 1)))
    cpus = max(1, int(resources.get("CPU", 1)) // workers)
    gpus = 1 if job.device != "cpu" and resources.get("GPU", 0) >= workers else 0
    ds = ray.data.read_datasource(ChunkSource(job), num_cpus=0, concurrency=workers)
    ds.context.execution_options.preserve_order = True  # the datasets derived below inherit it
    ds = ds.map_batches(ClaimIds, fn_constructor_args=(job,), batch_format="pyarrow", num_cpus=0,
                        compute=ray.data.ActorPoolStrategy(size=1, max_tasks_in_flight_per_actor=1))  # one call at a time
    ds = ds.map_batches(ChunkScorer, fn_constructor_args=(job, cpus), batch_size=1, batch_format="pyarrow",
                        num_cpus=cpus, num_gpus=gpus, compute=ray.data.ActorPoolStrategy(size=workers))
    sink = PartSink(job.out)
    try:
        ds.write_datasink(sink, ray_remote_args={"num_cpus": 0}, concurrency=workers)
    except Exception as err:  # a worker's FramingError (cannot write, --strict) arrives wrapped
        cause = err
        while cause is not None and not isinstance(cause, FramingError):
            cause = cause.__cause__ or getattr(cause, "cause", None)
        raise (cause or err) from None
    return sink.failures
