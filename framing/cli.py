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
          output: Optional[str] = typer.Option(None, help="Shortcut for --output of the config."),
          device: str = typer.Option("auto", help="auto, cpu or cuda (bf16 on CUDA); the saved model is the same.")):
    """Train a model from a config; extra options are dotted overrides (--train.epochs 2)."""
    from framing.training.config import load_config, parse_cli_overrides
    from framing.training.train import train as run_training

    overrides = parse_cli_overrides(list(ctx.args))
    if output:
        overrides["output"] = output
    cfg = load_config(config, overrides)
    run_training(cfg, force=force, root=config.resolve().parent.parent, device=device)


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
          strict: bool = typer.Option(False, help="Stop at the first bad input or JSONL line instead of skipping it."),
          max_mb: float = typer.Option(20.0, help="Refuse inputs larger than this many MB."),
          batch_size: int = typer.Option(32, help="Sentences per forward pass."),
          device: str = typer.Option("auto", help="auto, cpu or cuda (bf16 on CUDA)."),
          operating_point: Optional[str] = typer.Option(None, "--operating-point", "-p",
                                                        help="Named thresholds: stream (an ordinary news feed), dense (frame-rich articles) or balanced (best F1 with capped false alarms); default: the model's.")):
    """Split articles into sentences and label each sentence."""
    from tqdm import tqdm

    from framing.model.framer import Framer, split_document
    from framing.report import to_csv, to_html, to_jsonl, to_table
    from framing.textio import expand_inputs, read_input

    fmt = fmt or ("table" if sys.stdout.isatty() and output is None else "jsonl")
    if fmt not in ("table", "jsonl", "csv", "html"):
        raise typer.BadParameter(f"unknown format {fmt!r}; use table, jsonl, csv or html", param_hint="--format")
    thresholds = parse_thresholds(threshold)
    framer = Framer.load(model, device=device, operating_point=operating_point)
    docs, failed, bad = [], 0, []
    paths = []
    for item in articles:
        try:
            paths += expand_inputs([item])
        except FramingError as err:
            if strict:
                raise
            typer.echo(f"error: {err} (skipped)", err=True)
            failed += 1

    def skip_record(err: FramingError) -> None:  # a bad JSONL line: report it, score the others
        typer.echo(f"error: {err} (skipped)", err=True)
        bad.append(err)

    for path in paths:
        try:
            for doc in read_input(path, max_mb, None if strict else skip_record):
                for warning in doc.warnings:
                    typer.echo(f"warning: {warning}", err=True)
                docs.append(split_document(doc.name, doc.text))
        except FramingError as err:
            if strict:
                raise
            typer.echo(f"error: {err} (skipped)", err=True)
            failed += 1
    problems = (f"; {failed} input(s) failed" if failed else "") + (f"; {len(bad)} bad record(s) skipped" if bad else "")
    if not docs:
        typer.echo(f"error: no input could be scored{problems}", err=True)
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
    typer.echo(summary + problems + (f"; wrote {output}" if output else ""), err=True)
    if failed or bad:
        raise typer.Exit(1)


@app.command()
@user_errors
def batch(inputs: List[str] = typer.Argument(..., help="JSONL, CSV and Parquet files, folders, globs, fsspec URLs (s3://…)."),
          output: Path = typer.Option(..., "--output", "-o", help="Output folder (resumed when it holds the same job)."),
          model: Path = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Trained model directory."),
          threshold: List[str] = typer.Option([], "--threshold", "-t", help="Override: 0.5 for all labels, or label=0.4 (repeatable)."),
          text_field: str = typer.Option("text", help="Field or column holding the article text."),
          id_field: str = typer.Option("id", help="Field or column holding the document id (unique within a file)."),
          engine: str = typer.Option("local", help="local, or ray (RAY_ADDRESS when set, else a local Ray)."),
          num_workers: int = typer.Option(0, help="Ray actors, one model each (0: one per CPU of the cluster)."),
          shard_size: int = typer.Option(1000, min=1, help="Records per output part (the unit of resuming)."),
          overwrite: bool = typer.Option(False, help="Delete an earlier run in --output and start afresh."),
          strict: bool = typer.Option(False, help="Stop at the first bad record or file instead of rejecting it."),
          batch_size: int = typer.Option(32, help="Sentences per forward pass."),
          device: str = typer.Option("auto", help="auto, cpu or cuda (bf16 on CUDA).")):
    """Score archives into Parquet: sentences/, documents/, rejects.jsonl, manifest.json. Resumable."""
    from framing.batch import Job, expand_batch_inputs, run_batch

    if engine not in ("local", "ray"):
        raise typer.BadParameter(f"unknown engine {engine!r}; use local or ray", param_hint="--engine")
    job = Job(tuple(expand_batch_inputs(inputs)), str(output), str(model), parse_thresholds(threshold), text_field, id_field,
              shard_size, strict, batch_size, device)
    try:
        manifest = run_batch(job, engine, num_workers, overwrite)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: finished parts are kept in {output}; run the same command again to resume", err=True)
        raise typer.Exit(130)
    c = manifest["counts"]
    typer.echo(f"read {c['records_read']} record(s): scored {c['documents_scored']} document(s), {c['sentences']} sentence(s); "
               f"rejected {c['records_rejected']} record(s)" + (f"; {c['files_unreadable']} file(s) unreadable" if c["files_unreadable"] else "")
               + f"; wrote {output}" + (f" (rejects: {output / 'rejects.jsonl'})" if c["records_rejected"] or c["files_unreadable"] else ""), err=True)
    if c["records_rejected"] or c["files_unreadable"]:
        raise typer.Exit(1)


@app.command("eval")
@user_errors
def evaluate_cmd(model: Path = typer.Option(DEFAULT_MODEL, "--model", "-m", help="Model directory to evaluate."),
                 compare: Optional[Path] = typer.Option(None, help="A second model (e.g. runs/baseline) side by side."),
                 sets: List[str] = typer.Option([], "--set", "-s", help="Only these sets of the suites file (repeatable)."),
                 gold: List[str] = typer.Option([], "--gold", "-g", help="Evaluate these JSONL files or folders instead of the suites."),
                 suites: Path = typer.Option(None, help="Evaluation sets (default: eval/suites.yaml)."),
                 operating_point: Optional[str] = typer.Option(None, "--operating-point", "-p",
                                                               help="Evaluate every set at this point (dense, balanced, stream) instead of each set's own."),
                 json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full report as JSON."),
                 markdown: Optional[Path] = typer.Option(None, help="Write the tables as Markdown."),
                 floors: Optional[Path] = typer.Option(None, "--gate", help="Floors per set (eval/floors.yaml); exit 1 below them.")):
    """Every held-out set side by side (gold, realworld, stream, robustness): P/R/F1, stream false alarms, flip rates."""
    from framing.eval.evaluate import SUITES_FILE, Suite, evaluate_suites, gate, load_floors, load_suites, suites_markdown, write_reports

    chosen = [Suite("gold", gold)] if gold else load_suites(suites or SUITES_FILE, sets)
    models = [model, compare] if compare else [model]
    results = evaluate_suites(models, chosen, operating_point)
    write_reports(results, json_out, markdown)
    typer.echo(suites_markdown(results))
    if floors:
        failures = gate({name: reports[0] for name, reports in results.items()},
                        {k: v for k, v in load_floors(floors).items() if not gold or k == "gold"})
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
          batch_archive: bool = typer.Option(False, "--batch", help="Instead: `framing batch` on a 20,000-document archive, local and Ray, with --model."),
          serve: bool = typer.Option(False, "--serve", help="Instead: `framing serve` under load from 1 and 16 clients.")):
    """Benchmark scoring speed, latency, load time and memory for the transformer and the baseline."""
    from framing.eval.bench import run_batch_bench, run_bench, run_serve_bench

    if batch_archive:
        run_batch_bench(out, model)
    elif serve:
        run_serve_bench(out, model)
    else:
        run_bench(out, model, baseline, train_configs, profile)


if __name__ == "__main__":
    app()
