"""The benchmark's profiler tables (timings themselves are not tested: they are machine facts)."""

from framing.eval.bench import to_markdown, worker_profile


def test_profile_tables_name_the_operators(trained_tiny, tiny_config, tmp_path):
    worker_profile(str(trained_tiny), str(tiny_config), tmp_path / "out")
    scoring = (tmp_path / "out" / "profile-score.txt").read_text()
    training = (tmp_path / "out" / "profile-train.txt").read_text()
    assert "aten::linear" in scoring
    assert "aten::mm" in training and "CPU Mem" in training


def test_markdown_reports_the_median_and_range_of_the_passes():
    score = {"throughput_sents_per_s": 140.0, "throughput_passes": [151.5, 140.0, 120.2], "seed_latency_s": 0.5,
             "load_s": 1.4, "cold_start_s": 6.0, "score_peak_rss_mb": 1300.0, "corpus_sentences": 2000, "seed_sentences": 42}
    fp32 = {**score, "throughput_sents_per_s": 70.0, "throughput_passes": [70.0, 69.0, 71.0]}
    machine = {"cpu": "test", "cores": 2, "memory_gib": 1, "torch": "x", "torch_threads": 2}
    md = to_markdown({"machine": machine, "transformer_bf16": score, "transformer_fp32": fp32, "baseline": fp32})
    assert "| 140.0 (120.2-151.5) | 70.0 (69.0-71.0) |" in md
    assert "speed-up over fp32: 2.00x" in md
    md = to_markdown({"machine": machine, "transformer_bf16": score, "transformer_fp32": fp32, "baseline": fp32,
                      "transformer_no_blend": {**score, "throughput_sents_per_s": 150.0}})
    assert "| transformer without its n-gram blend |" in md and "| 140.0 (120.2-151.5) | 70.0 (69.0-71.0) | 150.0 (" in md


def test_batch_bench_archive_and_table(tmp_path):
    import json

    from framing.eval.bench import batch_markdown, build_archive

    folder = build_archive(tmp_path / "a", 20)
    records = [json.loads(line) for f in sorted(folder.glob("*.jsonl")) for line in f.open(encoding="utf-8")]
    assert sorted(r["id"] for r in records) == list(range(20)) and all(r["text"] for r in records)

    def run(engine, docs, rate, rss):
        return {"engine": engine, "documents": docs, "sentences": 2 * docs, "documents_per_s": rate / 2, "sentences_per_s": rate,
                "driver_peak_rss_mb": rss, "all_processes_peak_rss_mb": rss, "output_mb": 1.0, "process_peaks_mb": [[rss, "python"]]}

    machine = {"cpu": "test", "cores": 2, "memory_gib": 1}
    md = batch_markdown({"machine": machine, "model": "m", "runs": [run("local", 2000, 100.0, 700.0), run("score", 20000, 100.0, 900.0),
                                                                   run("local", 20000, 95.0, 710.0), run("ray", 20000, 190.0, 500.0)]})
    assert "local engine / `framing score`, sentences/s: 0.95; Ray / local: 2.00" in md
    assert "700.0 MB at 2000 documents, 710.0 MB at 20000" in md


def test_serve_markdown_shows_the_costs_behind_the_load_runs():
    from framing.eval.bench import serve_markdown

    def run(clients, requests_per_s, batch):
        return {"clients": clients, "requests": 20 * clients, "errors": 0, "p50_s": 0.3, "p95_s": 0.4, "requests_per_s": requests_per_s,
                "sentences_per_s": 42 * requests_per_s, "mean_batch": batch, "server_cpu_ms_per_request": 310.0, "rss_after_mb": 900.0,
                "load_avg_1m": 1.5}

    machine = {"cpu": "test", "cores": 2, "torch": "x", "torch_threads": 2}
    costs = {"seed_sentences": 42, "split_ms": 60.0, "model_calls": [{"batch": 42, "ms": 280.0, "sentences_per_s": 150.0},
                                                                    {"batch": 64, "ms": 400.0, "sentences_per_s": 160.0}]}
    md = serve_markdown({"machine": machine, "model": "m", "article_chars": 3241, "rss_start_mb": 890.0, "speedup": 1.5, "costs": costs,
                         "runs": [run(1, 2.0, 42.0), run(16, 3.0, 63.5)]})
    assert "| 16 | 320 | 0 | 0.3 | 0.4 | 3.0 | 126.0 | 63.5 | 310.0 | 900.0 | 1.5 |" in md
    assert "Throughput with 16 clients: 1.5x one client's" in md
    assert "splitting the article 60.0 ms; one model call of 42 sentences 280.0 ms (150.0/s); 64 sentences 400.0 ms (160.0/s)" in md


def test_batch_bench_workers_score_the_same_text(trained_tiny, tmp_path):
    """`framing score` and `framing batch` as the bench runs them: the same documents and sentences."""
    from framing.eval.bench import build_archive, worker_batch

    folder = build_archive(tmp_path / "a", 32)  # 4 per file: no file empty
    runs = [worker_batch(str(trained_tiny), str(folder), engine, str(tmp_path / engine)) for engine in ("score", "local")]
    assert [(r["documents"], r["sentences"]) for r in runs] == [(32, runs[0]["sentences"])] * 2 and runs[0]["sentences"] >= 32
