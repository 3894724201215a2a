"""The benchmark's profiler tables (timings themselves are not tested: they are machine facts)."""

from framing.eval.bench import worker_profile


def test_profile_tables_name_the_operators(trained_tiny, tiny_config, tmp_path):
    worker_profile(str(trained_tiny), str(tiny_config), tmp_path / "out")
    scoring = (tmp_path / "out" / "profile-score.txt").read_text()
    training = (tmp_path / "out" / "profile-train.txt").read_text()
    assert "aten::linear" in scoring
    assert "aten::mm" in training and "CPU Mem" in training
