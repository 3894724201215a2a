import pytest

from framing.errors import FramingError
from framing.training.config import load_config, parse_cli_overrides

BASE = "name: t\noutput: runs/t\n"


def write(tmp_path, body):
    p = tmp_path / "c.yaml"
    p.write_text(body, encoding="utf-8")
    return p


def test_defaults_and_overrides(tmp_path):
    p = write(tmp_path, BASE + "train: {epochs: 3, lr: 5e-5}\n")
    cfg = load_config(p, parse_cli_overrides(["--train.epochs", "2", "--model.base=some/model", "--data.langs", "[ko, en]"]))
    assert cfg.train.epochs == 2 and cfg.train.lr == 5e-5
    assert cfg.model.base == "some/model" and cfg.data.langs == ["ko", "en"]


@pytest.mark.parametrize("body, code, needle", [
    (BASE + "trian: {epochs: 2}\n", "E102", "trian"),
    (BASE + "train: {epoch: 2}\n", "E102", "train.epoch"),
    (BASE + "train: {epochs: two}\n", "E103", "train.epochs"),
    (BASE + "train: {bf16: 1}\n", "E103", "train.bf16"),
    (BASE + "model: {kind: svm}\n", "E103", "model.kind"),
    (BASE + "labels: [terrorism, propaganda]\n", "E105", "propaganda"),
    (BASE + "train: {pos_weight: {terror: 2.0}}\n", "E105", "terror"),
    (BASE + "train: [1, 2\n", "E101", "not valid YAML"),
])
def test_bad_configs_name_key_and_file(tmp_path, body, code, needle):
    p = write(tmp_path, body)
    with pytest.raises(FramingError) as err:
        load_config(p)
    assert err.value.code == code
    assert needle in str(err.value) and str(p) in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(FramingError) as err:
        load_config(tmp_path / "nope.yaml")
    assert err.value.code == "E107"


def test_bad_override_syntax():
    with pytest.raises(FramingError) as err:
        parse_cli_overrides(["train.epochs", "2"])
    assert err.value.code == "E106"


def test_shipped_configs_validate():
    from conftest import ROOT

    for name in ("e5-small.yaml", "baseline-tfidf.yaml"):
        load_config(ROOT / "configs" / name)
