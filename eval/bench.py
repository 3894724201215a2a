"""Benchmark: the transformer and the TF-IDF baseline side by side, on this machine.

    framing bench [--train] [--profile]    # or: python -m framing.eval.bench --out bench-out
    framing bench --batch --model runs/baseline   # archive scale: `framing batch`, local and Ray
    framing bench --serve                  # `framing serve` under load instead

Each measurement runs in a fresh child process so that load time and peak resident memory
are the model's own: scoring throughput on a fixed corpus of >= 2,000 Korean sentences
(batch scoring), latency for the seed article once loaded, model load time, fp32 vs bf16
throughput, and with --train the wall time and peak memory of the default trainings. With
--batch instead: an archive of 20,000 documents built from the corpus, scored by `framing score`
and by `framing batch` with the local and the Ray engine (and 2,000 documents with the local
engine, to see that memory stays flat): documents/s, sentences/s, peak RSS of every process
(sampled), output size.
Writes bench.json and bench.md and prints the machine it ran on; with --profile also
torch.profiler tables of scoring time and of training memory. With --serve it starts `framing serve`
on a free 127.0.0.1 port and sends it seed articles from 1 client, then from 16 concurrent ones, and
times the costs behind them in a child process: splitting the article, a model call per batch size
(bench-serve.json, bench-serve.md). Not a timed test."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS_SIZE = 2000
# This 2-core machine's speed drifts by 10-25% from minute to minute (shared host), so one pass
# over the corpus is one noisy sample: report the median of several and their range.
THROUGHPUT_PASSES = 3
TARGETS = {"throughput_sents_per_s": 150, "seed_latency_s": 1.0, "load_s": 3.0, "train_wall_s": 900,
           "train_peak_rss_mb": 2500, "score_peak_rss_mb": 1500}


def corpus() -> list[str]:
    """A fixed corpus: the first 2,000 Korean training sentences by id (real, translated, authored)."""
    from framing.training.data import load_split

    records, _ = load_split([str(ROOT / "data" / "train")], langs=["ko"])
    texts = [r.text for r in sorted(records, key=lambda r: r.id)][:CORPUS_SIZE]
    if len(texts) < CORPUS_SIZE:
        raise SystemExit(f"bench corpus has only {len(texts)} sentences (need {CORPUS_SIZE})")
    return texts


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def worker_score(model: str, bf16: bool, no_blend: bool = False) -> dict:
    started = time.perf_counter()
    import torch  # noqa: F401  library imports are part of the cold start, not of load_s
    import transformers.models.bert.modeling_bert  # noqa: F401

    from framing.model.framer import Framer

    imported = time.perf_counter()
    framer = Framer.load(model, bf16=bf16)  # bf16 only matters for the transformer
    if no_blend and hasattr(framer.backend, "transformer"):  # the transformer alone: the n-gram blend's cost
        framer.backend = framer.backend.transformer
    loaded = time.perf_counter()
    seed = (ROOT / "seeds" / "000_a1abbb1d65276d23.txt").read_text(encoding="utf-8")
    framer.score_text(seed)  # warm-up: splitter model, kernels
    latencies = []
    for _ in range(5):
        t = time.perf_counter()
        framer.score_text(seed)
        latencies.append(time.perf_counter() - t)
    texts = corpus()
    rates = []
    for _ in range(THROUGHPUT_PASSES):
        t = time.perf_counter()
        framer.predict_proba(texts)
        rates.append(round(len(texts) / (time.perf_counter() - t), 1))
    return {"load_s": round(loaded - imported, 3), "cold_start_s": round(loaded - started, 3),
            "seed_latency_s": round(statistics.median(latencies), 3), "seed_sentences": len(framer.score_text(seed)),
            "throughput_sents_per_s": statistics.median(rates), "throughput_passes": rates, "corpus_sentences": len(texts),
            "score_peak_rss_mb": round(peak_rss_mb(), 1)}


def worker_train(config: str) -> dict:
    from framing.training.config import load_config
    from framing.training.train import train

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(config, {"output": str(Path(tmp) / "model")})
        t = time.perf_counter()
        out = train(cfg, quiet=True)
        wall = time.perf_counter() - t
        meta = json.loads((out / "framing.json").read_text())
    return {"train_wall_s": round(wall, 1), "train_peak_rss_mb": round(peak_rss_mb(), 1),
            "dev_macro_f1": round(meta["dev_metrics"]["macro"]["f1"], 4)}


def worker_profile(model: str, config: str, out: Path) -> dict:
    """torch.profiler tables: batch scoring (where the time goes) and two training steps at the
    widest batch of the config (which operators allocate the memory behind the training peak)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from framing.model.framer import Framer
    from framing.training.config import load_config
    from framing.training.train import backward_batch, build_labeller

    out.mkdir(parents=True, exist_ok=True)
    framer, texts = Framer.load(model), corpus()[:512]
    framer.predict_proba(texts[:64])  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        framer.predict_proba(texts)
    (out / "profile-score.txt").write_text(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))
    del framer

    cfg = load_config(config)
    labeller = build_labeller(cfg)
    ids, _ = labeller.encode(texts[: cfg.train.batch_size], windows=False)
    widest = [(x * cfg.model.max_length)[: cfg.model.max_length] for x in ids]
    y = torch.zeros((len(widest), len(cfg.labels)))
    labeller.model.train()

    def step():  # the training step's forward and backward passes, as train() runs them
        backward_batch(labeller.model, torch.nn.BCEWithLogitsLoss(), widest, y, 0, cfg.train.bf16, cfg.train.max_tokens_per_pass)
        labeller.model.zero_grad(set_to_none=True)

    step()  # warm-up
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
        step()
    (out / "profile-train.txt").write_text(prof.key_averages().table(sort_by="self_cpu_memory_usage", row_limit=20))
    return {"files": ["profile-score.txt", "profile-train.txt"]}


BATCH_DOCS = (2_000, 20_000)
ARCHIVE_FILES = 8


def build_archive(folder: Path, n_docs: int) -> Path:
    """``n_docs`` documents of two consecutive corpus sentences each (ids 0..n-1), cycling through
    the corpus, in ARCHIVE_FILES JSONL files (so that the Ray engine has files to spread)."""
    texts = corpus()
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-n_docs // ARCHIVE_FILES)
    for f in range(ARCHIVE_FILES):
        with (folder / f"part-{f}.jsonl").open("w", encoding="utf-8") as fh:
            for i in range(f * per_file, min(n_docs, (f + 1) * per_file)):
                text = texts[(2 * i) % len(texts)] + " " + texts[(2 * i + 1) % len(texts)]
                fh.write(json.dumps({"id": i, "text": text}, ensure_ascii=False) + "\n")
    return folder


def _sample_peaks(stop, peaks: dict) -> None:
    """Peak RSS per process (this one and all its descendants: Ray's), sampled every 0.2 s."""
    import psutil

    me = psutil.Process()
    while not stop.wait(0.2):
        total = 0
        for p in [me] + me.children(recursive=True):
            try:
                rss, name = p.memory_info().rss / 2**20, " ".join(p.cmdline())[:60] or p.name()
            except psutil.Error:
                continue
            total += rss
            peaks[p.pid] = (max(rss, peaks.get(p.pid, (0, ""))[0]), name)
        peaks["all"] = (max(total, peaks.get("all", (0, ""))[0]), "all processes at once")


def worker_batch(model: str, archive: str, engine: str, out: str) -> dict:
    """One archive through `framing score` (engine 'score': all in memory, JSONL out) or `framing
    batch` (local or ray), timed from model load to the last file written."""
    import threading

    import framing.cli  # noqa: F401  imports are not part of the timing
    from framing.batch import Job, expand_batch_inputs, run_batch

    stop, peaks = threading.Event(), {}
    sampler = threading.Thread(target=_sample_peaks, args=(stop, peaks), daemon=True)
    sampler.start()
    started = time.perf_counter()
    if engine == "score":
        from framing.cli import score

        files = sorted(str(p) for p in Path(archive).glob("*.jsonl"))
        Path(out).mkdir(parents=True, exist_ok=True)
        score(files, model=Path(model), fmt="jsonl", output=Path(out) / "scores.jsonl", threshold=[], strict=False, max_mb=20.0,
              batch_size=32, device="auto", operating_point=None)  # every option: called as a function, not by typer
        seconds = time.perf_counter() - started
        docs, sentences = sum(1 for f in files for _ in open(f)), sum(1 for _ in open(Path(out) / "scores.jsonl"))
    else:
        job = Job(tuple(expand_batch_inputs([archive])), out, model, {})
        counts = run_batch(job, engine, num_workers=os.cpu_count() if engine == "ray" else 0)["counts"]
        seconds = time.perf_counter() - started
        docs, sentences = counts["documents_scored"], counts["sentences"]
    stop.set()
    sampler.join()
    size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file())
    top = sorted(((round(mb, 1), name) for pid, (mb, name) in peaks.items() if pid != "all"), reverse=True)[:8]
    return {"engine": engine, "documents": docs, "sentences": sentences, "seconds": round(seconds, 1),
            "documents_per_s": round(docs / seconds, 1), "sentences_per_s": round(sentences / seconds, 1),
            "driver_peak_rss_mb": round(peak_rss_mb(), 1), "all_processes_peak_rss_mb": round(peaks.get("all", (0,))[0], 1),
            "process_peaks_mb": top, "output_mb": round(size / 2**20, 2)}


def run_batch_bench(out: Path, model: Path) -> dict:
    """`framing batch` at archive scale; writes batch.json and batch.md."""
    out.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), "model": str(model), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in BATCH_DOCS:
            archive = build_archive(Path(tmp) / f"archive-{n}", n)
            for engine in (("score", "local", "ray") if n == max(BATCH_DOCS) else ("local",)):
                print(f"{engine}: {n} documents ...", file=sys.stderr)
                run = child("--worker", "batch", "--model", str(model), "--archive", str(archive), "--engine", engine,
                            "--out", str(Path(tmp) / f"out-{engine}-{n}"))
                result["runs"].append(run)
    return write_results(out, "batch", result, batch_markdown(result))


def batch_markdown(result: dict) -> str:
    m, runs = result["machine"], result["runs"]
    rows = [f"| {r['engine']} | {r['documents']} | {r['sentences']} | {r['documents_per_s']} | {r['sentences_per_s']} | "
            f"{r['driver_peak_rss_mb']} | {r['all_processes_peak_rss_mb']} | {r['output_mb']} |" for r in runs]
    big = {r["engine"]: r for r in runs if r["documents"] == max(x["documents"] for x in runs)}
    small = next(r for r in runs if r["engine"] == "local" and r["documents"] < big["local"]["documents"])
    ray_peaks = "; ".join(f"{name}: {mb}" for mb, name in big["ray"]["process_peaks_mb"])
    return (f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB. Model: {result['model']}.\n\n"
            "| run | documents | sentences | documents/s | sentences/s | peak RSS driver, MB | peak RSS all processes, MB | output, MB |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n"
            f"local engine / `framing score`, sentences/s: {big['local']['sentences_per_s'] / big['score']['sentences_per_s']:.2f}; "
            f"Ray / local: {big['ray']['sentences_per_s'] / big['local']['sentences_per_s']:.2f}; local peak RSS "
            f"{small['driver_peak_rss_mb']} MB at {small['documents']} documents, {big['local']['driver_peak_rss_mb']} MB at "
            f"{big['local']['documents']}.\n\nRay processes' peaks, MB: {ray_peaks}\n")


def child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "framing.eval.bench", *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"bench worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    import torch

    from framing.model.classifier import native_bf16

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "platform": platform.platform(),
            "native_bf16": native_bf16()}


def to_markdown(result: dict) -> str:
    rows = []
    cols = [("transformer bf16", result["transformer_bf16"]), ("transformer fp32", result["transformer_fp32"])]
    if "transformer_no_blend" in result:
        cols.append(("transformer without its n-gram blend", result["transformer_no_blend"]))
    cols.append(("tfidf baseline", result["baseline"]))
    metrics = [("throughput_sents_per_s", f"batch scoring, sentences/s: median (range) of {THROUGHPUT_PASSES} passes", "≥ 150"), ("seed_latency_s", "seed article latency, s (loaded)", "< 1"),
               ("load_s", "model load, s (libraries imported)", "< 3"), ("cold_start_s", "cold start incl. torch/transformers imports, s", ""),
               ("score_peak_rss_mb", "peak RSS scoring, MB", "< 1500")]

    def cell(column: dict, key: str) -> str:
        if key == "throughput_sents_per_s":  # median (range) over the passes
            return f"{column[key]} ({min(column['throughput_passes'])}-{max(column['throughput_passes'])})"
        return str(column.get(key, ""))

    for key, name, target in metrics:
        rows.append(f"| {name} | " + " | ".join(cell(c, key) for _, c in cols) + f" | {target} |")
    for key, name, target in (("train_wall_s", "default training wall time, s", "< 900"), ("train_peak_rss_mb", "peak RSS training, MB", "< 2500"),
                              ("dev_macro_f1", "dev macro F1 of that training", "")):
        if key in result.get("train_transformer", {}):
            rows.append(f"| {name} | {result['train_transformer'][key]} | " + "| " * (len(cols) - 2)
                        + f"{result['train_baseline'][key]} | {target} |")
    m = result["machine"]
    speedup = result["transformer_bf16"]["throughput_sents_per_s"] / result["transformer_fp32"]["throughput_sents_per_s"]
    return (f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, torch {m['torch']} ({m['torch_threads']} threads), "
            f"native bf16: {m.get('native_bf16', '?')}.\n"
            f"Corpus: {result['transformer_bf16']['corpus_sentences']} Korean sentences from data/train; "
            f"seed article: {result['transformer_bf16']['seed_sentences']} sentences.\n\n"
            "| measure | " + " | ".join(name for name, _ in cols) + " | target |\n|---|" + "---:|" * len(cols) + "---|\n"
            + "\n".join(rows) + f"\n\nbf16 speed-up over fp32: {speedup:.2f}x.\n")


def run_bench(out: Path, model: Path, baseline: Path, train_configs: bool, profile: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine()}
    print(f"machine: {result['machine']}", file=sys.stderr)
    if profile:
        child("--worker", "profile", "--model", str(model), "--config", str(ROOT / "configs" / "e5-small.yaml"), "--out", str(out))
    result["transformer_bf16"] = child("--worker", "score", "--model", str(model), "--bf16", "1")
    result["transformer_fp32"] = child("--worker", "score", "--model", str(model), "--bf16", "0")
    if json.loads((model / "framing.json").read_text()).get("ngram_weight"):
        result["transformer_no_blend"] = child("--worker", "score", "--model", str(model), "--bf16", "1", "--no-blend", "1")
    result["baseline"] = child("--worker", "score", "--model", str(baseline), "--bf16", "0")
    if train_configs:
        result["train_transformer"] = child("--worker", "train", "--config", str(ROOT / "configs" / "e5-small.yaml"))
        result["train_baseline"] = child("--worker", "train", "--config", str(ROOT / "configs" / "baseline-tfidf.yaml"))
    result["targets"] = TARGETS
    return write_results(out, "bench", result, to_markdown(result))


def write_results(out: Path, name: str, result: dict, md: str) -> dict:
    """``name``.json and ``name``.md in ``out``; the table is printed too."""
    (out / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    (out / f"{name}.md").write_text(md, encoding="utf-8")
    print(md)
    return result


SERVE_LOADS = ((1, 40), (16, 320))  # (concurrent clients, requests)
SERVE_BATCHES = (8, 64, 256)  # model-call sizes timed beside the seed article's own (the server's --max-batch is 64)


def worker_serve_costs(model: str) -> dict:
    """Where a served request's time goes, measured in one process: splitting the seed article,
    and one model call of its sentences and of other batch sizes (its sentences repeated)."""
    from framing.model.framer import Framer
    from framing.model.splitter import split_sentences

    framer = Framer.load(model)
    seed = (ROOT / "seeds" / "000_a1abbb1d65276d23.txt").read_text(encoding="utf-8")
    sentences = [s.text for s in split_sentences(seed)]

    def median_s(work, repeats: int) -> float:
        work()  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            work()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    calls = []
    for size in sorted({len(sentences), *SERVE_BATCHES}):
        batch = (sentences * (size // len(sentences) + 1))[:size]
        seconds = median_s(lambda: framer.predict_proba(batch), 3)
        calls.append({"batch": size, "ms": round(1000 * seconds, 1), "sentences_per_s": round(size / seconds, 1)})
    return {"seed_sentences": len(sentences), "split_ms": round(1000 * median_s(lambda: split_sentences(seed), 5), 1),
            "model_calls": calls}


def run_serve_bench(out: Path, model: Path) -> dict:
    """Latency, throughput and server memory of `framing serve` with seed-sized articles, and the
    costs behind them (splitting, model calls by batch size)."""
    import httpx

    from framing.eval.serveload import load, rss_mb, running_server

    out.mkdir(parents=True, exist_ok=True)
    seed = (ROOT / "seeds" / "000_a1abbb1d65276d23.txt").read_text(encoding="utf-8")
    result = {"machine": machine(), "model": str(model), "article_chars": len(seed), "runs": [],
              "costs": child("--worker", "servecosts", "--model", str(model))}
    with running_server(model) as (url, server):
        load(url, [{"text": seed}] * 8, 4)  # warm-up
        result["rss_start_mb"] = rss_mb(server)
        for clients, requests in SERVE_LOADS:
            before, cpu_before = httpx.get(f"{url}/healthz").json(), cpu_s(server)
            run = load(url, [{"text": seed}] * requests, clients)
            after = httpx.get(f"{url}/healthz").json()
            run["mean_batch"] = round((after["sentences"] - before["sentences"]) / max(1, after["batches"] - before["batches"]), 1)
            run["server_cpu_ms_per_request"] = round(1000 * (cpu_s(server) - cpu_before) / requests, 1)
            run["rss_after_mb"] = rss_mb(server)
            run["load_avg_1m"] = round(os.getloadavg()[0], 2)
            result["runs"].append(run)
            print(f"{clients} client(s): {run}", file=sys.stderr)
        result["server_peak_rss_mb"] = round(server.memory_info().rss / 2**20, 1)
    one, many = result["runs"][0], result["runs"][-1]
    result["speedup"] = round(many["requests_per_s"] / one["requests_per_s"], 2)
    return write_results(out, "bench-serve", result, serve_markdown(result))


def cpu_s(process) -> float:
    """CPU seconds (user + system, all threads) a process has used so far."""
    times = process.cpu_times()
    return times.user + times.system


def serve_markdown(result: dict) -> str:
    m, costs = result["machine"], result["costs"]
    rows = "\n".join(f"| {r['clients']} | {r['requests']} | {r['errors']} | {r['p50_s']} | {r['p95_s']} | {r['requests_per_s']} | "
                     f"{r['sentences_per_s']} | {r['mean_batch']} | {r['server_cpu_ms_per_request']} | {r['rss_after_mb']} | {r['load_avg_1m']} |" for r in result["runs"])
    calls = "; ".join(f"{c['batch']} sentences {c['ms']} ms ({c['sentences_per_s']}/s)" for c in costs["model_calls"])
    return (f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads). Model: {result['model']}. "
            f"Each request: the seed article ({result['article_chars']} characters, {costs['seed_sentences']} sentences).\n\n"
            "| clients | requests | errors | p50 latency, s | p95 latency, s | requests/s | sentences/s | sentences per model call "
            "| server CPU per request, ms | server RSS after, MB | load average after |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + rows
            + f"\n\nServer RSS after warm-up: {result['rss_start_mb']} MB. Throughput with {result['runs'][-1]['clients']} clients: "
            f"{result['speedup']}x one client's.\n\n"
            f"Costs in one process (median): splitting the article {costs['split_ms']} ms; one model call of {calls}.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--worker", choices=["score", "train", "profile", "batch", "servecosts"])
    ap.add_argument("--archive")
    ap.add_argument("--engine")
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--model", default="runs/e5-small")
    ap.add_argument("--baseline", default="runs/baseline")
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--no-blend", type=int, default=0)
    ap.add_argument("--config")
    ap.add_argument("--out", type=Path, default=Path("bench-out"))
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.worker == "score":
        print(json.dumps(worker_score(args.model, bool(args.bf16), bool(args.no_blend))))
    elif args.worker == "train":
        print(json.dumps(worker_train(args.config)))
    elif args.worker == "profile":
        print(json.dumps(worker_profile(args.model, args.config, args.out)))
    elif args.worker == "batch":
        print(json.dumps(worker_batch(args.model, args.archive, args.engine, str(args.out))))
    elif args.worker == "servecosts":
        print(json.dumps(worker_serve_costs(args.model)))
    elif args.batch:
        run_batch_bench(args.out, Path(args.model))
    else:
        run_bench(args.out, Path(args.model), Path(args.baseline), args.train, args.profile)


if __name__ == "__main__":
    main()
