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
