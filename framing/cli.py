"""The `framing` command: thin typer wrappers over importable functions.

User errors print one coded message (file, problem, fix) and exit 2, never a traceback."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from framing.errors import FramingError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Label Korean news sentences with the rhetorical frames of state propaganda.")
DEFAULT_MODEL = "runs/e5-small"


def user_errors(fn):
    """Turn FramingError and Ctrl-C into a clean message and exit status."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FramingError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2)
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing was written", err=True)
            raise typer.Exit(130)
    return wrapper


def write_output(text: str, output: Optional[Path]) -> None:
    """Write to stdout, or atomically to a file (no half-written report on failure)."""
    if output is None:
        sys.stdout.write(text)
        return
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        from framing.errors import Errors

        raise FramingError(Errors.E306, path=output, problem=err.strerror or str(err)) from None


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@user_errors
def train(ctx: typer.Context,
          config: Path = typer.Option(..., "--config", "-c", help="YAML config, e.g. configs/e5-small.yaml"),
          force: bool = typer.Option(False, help="Replace an existing output directory."),
          output: Optional[str] = typer.Option(None, help="Shortcut for --output of the config.")):
    """Train a model from a config; extra options are dotted overrides (--train.epochs 2)."""
    from framing.training.config import load_config, parse_cli_overrides
    from framing.training.train import train as run_training

    overrides = parse_cli_overrides(list(ctx.args))
    if output:
        overrides["output"] = output
    cfg = load_config(config, overrides)
    run_training(cfg, force=force, root=config.resolve().parent.parent)


def parse_thresholds(values: List[str]) -> dict[str, float]:
    from framing.errors import Errors
    from framing.labels import LABELS, check_labels

    out: dict[str, float] = {}
    for value in values:
        label, _, number = value.rpartition("=")
        try:
            t = float(number)
        except ValueError:
            raise FramingError(Errors.E103, path="--threshold", key=value, expected="a number or label=number", got=value) from None
        for name in check_labels([label], "--threshold") if label else LABELS:
            out[name] = t
    return out


@app.command()
@user_errors
def score(articles: List[str] = typer.Argument(..., help="Files, folders, globs; '-' for stdin. .txt, .jsonl (text field), .html"),
          model: Path = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Trained model directory."),
          fmt: Optional[str] = typer.Option(None, "--format", "-f", help="table, jsonl, csv or html (default: table on a terminal, else jsonl)."),
          output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
          threshold: List[str] = typer.Option([], "--threshold", "-t", help="Override: 0.5 for all labels, or label=0.4 (repeatable)."),
          strict: bool = typer.Option(False, help="Stop at the first bad input instead of skipping it."),
          max_mb: float = typer.Option(20.0, help="Refuse inputs larger than this many MB."),
          batch_size: int = typer.Option(32, help="Sentences per forward pass.")):
    """Split articles into sentences and label each sentence."""
    from tqdm import tqdm

    from framing.model.framer import Framer, split_document
    from framing.report import to_csv, to_html, to_jsonl, to_table
    from framing.textio import expand_inputs, read_input

    fmt = fmt or ("table" if sys.stdout.isatty() and output is None else "jsonl")
    if fmt not in ("table", "jsonl", "csv", "html"):
        raise typer.BadParameter(f"unknown format {fmt!r}; use table, jsonl, csv or html", param_hint="--format")
    thresholds = parse_thresholds(threshold)
    framer = Framer.load(model)
    docs, failed = [], 0
    paths = []
    for item in articles:
        try:
            paths += expand_inputs([item])
        except FramingError as err:
            if strict:
                raise
            typer.echo(f"error: {err} (skipped)", err=True)
            failed += 1
    for path in paths:
        try:
            for doc in read_input(path, max_mb):
                for warning in doc.warnings:
                    typer.echo(f"warning: {warning}", err=True)
                docs.append(split_document(doc.name, doc.text))
        except FramingError as err:
            if strict:
                raise
            typer.echo(f"error: {err} (skipped)", err=True)
            failed += 1
    if not docs:
        typer.echo(f"error: no input could be scored ({failed} failed)", err=True)
        raise typer.Exit(2)
    texts = [s.text for d in docs for s in d.sentences]
    with tqdm(total=len(texts), desc="scoring", unit="sent", file=sys.stderr,
              disable=len(docs) < 2 and len(texts) < 500) as bar:
        probs = framer.predict_proba(texts, batch_size=batch_size, progress=bar.update)
    scored = framer.assemble(docs, probs, thresholds)
    render = {"table": to_table, "jsonl": to_jsonl, "csv": to_csv,
              "html": lambda d: to_html(d, str(model), {**framer.thresholds, **thresholds})}[fmt]
    write_output(render(scored), output)
    summary = f"scored {len(scored)} document(s), {len(texts)} sentence(s)"
    typer.echo(summary + (f"; {failed} input(s) failed" if failed else "") + (f"; wrote {output}" if output else ""), err=True)
    if failed:
        raise typer.Exit(1)


@app.command("eval")
@user_errors
def evaluate_cmd(model: Path = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Model directory to evaluate."),
                 gold: List[str] = typer.Option(["data/gold"], "--gold", "-g", help="Gold JSONL files or folders."),
                 compare: Optional[Path] = typer.Option(None, help="A second model (e.g. runs/baseline) side by side."),
                 json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full report as JSON."),
                 markdown: Optional[Path] = typer.Option(None, help="Write the table as Markdown."),
                 floors: Optional[Path] = typer.Option(None, "--gate", help="Per-label F1 floors (eval/floors.yaml); exit 1 below them.")):
    """Per-label precision, recall and F1 against the hand-labelled gold set."""
    from framing.eval.evaluate import evaluate, gate, load_floors, to_markdown, write_reports

    reports = [evaluate(model, gold)]
    if compare:
        reports.append(evaluate(compare, gold))
    write_reports(reports, json_out, markdown)
    typer.echo(to_markdown(reports))
    if floors:
        failures = gate(reports[0], load_floors(floors))
        for line in failures:
            typer.echo(f"gate failed: {line}", err=True)
        if failures:
            raise typer.Exit(1)
        typer.echo(f"gate passed ({floors})", err=True)


@app.command()
@user_errors
def serve(model: Path = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Trained model directory, loaded once at start."),
          host: str = typer.Option("127.0.0.1", help="Interface to listen on; 0.0.0.0 exposes the server to the network."),
          port: int = typer.Option(8000, help="TCP port."),
          api_key: Optional[str] = typer.Option(None, envvar="FRAMING_API_KEY", help="Require 'Authorization: Bearer KEY' on /v1/ (or set FRAMING_API_KEY)."),
          max_body_mb: float = typer.Option(2.0, help="Refuse larger request bodies (413)."),
          max_sentences: int = typer.Option(2000, help="Refuse requests with more sentences (413)."),
          timeout: float = typer.Option(30.0, help="Seconds a request may take before a 504."),
          max_batch: int = typer.Option(64, help="Sentences per shared model call."),
          max_wait_ms: float = typer.Option(10.0, help="How long a batch waits for more sentences once one arrived."),
          max_queue: int = typer.Option(4096, help="Sentences that may wait; beyond that requests get 503 + Retry-After.")):
    """Serve the scoring page at / and the JSON API (/v1/score, /v1/model, /docs)."""
    from framing.serve import LOCAL_HOSTS
    from framing.serve import serve as run_server

    if host not in LOCAL_HOSTS:
        typer.echo(f"warning: listening on {host}: anyone who can reach this machine can use the server"
                   + ("" if api_key else "; set --api-key to require a token") + ". Use --host 127.0.0.1 to keep it local.", err=True)
    run_server(model, host, port, api_key=api_key, max_body_mb=max_body_mb, max_sentences=max_sentences, timeout_s=timeout,
               max_batch=max_batch, max_wait_ms=max_wait_ms, max_queue=max_queue)


@app.command()
@user_errors
def bench(out: Path = typer.Option(Path("bench-out"), help="Folder for bench.json and bench.md."),
          model: Path = typer.Option(DEFAULT_MODEL, help="Transformer model directory."),
          baseline: Path = typer.Option(Path("runs/baseline"), help="Baseline model directory."),
          train_configs: bool = typer.Option(False, "--train", help="Also time the default trainings (minutes)."),
          profile: bool = typer.Option(False, "--profile", help="Also write torch.profiler tables of scoring and training."),
          serve: bool = typer.Option(False, "--serve", help="Instead: `framing serve` under load from 1 and 16 clients.")):
    """Benchmark scoring speed, latency, load time and memory for the transformer and the baseline."""
    from framing.eval.bench import run_bench, run_serve_bench

    if serve:
        run_serve_bench(out, model)
    else:
        run_bench(out, model, baseline, train_configs, profile)


if __name__ == "__main__":
    app()
