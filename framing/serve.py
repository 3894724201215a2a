"""`framing serve`: the scoring page at `/` and the JSON API, on FastAPI + uvicorn.

    POST /v1/score        {"text": ...} or {"documents": [{"id", "text"}]}, optional "thresholds"
    POST /v1/score/file   multipart upload of a .txt, .html or .jsonl file (any encoding `score` reads)
    GET  /v1/model        labels, thresholds and the model card's metadata
    GET  /healthz         liveness; /docs the OpenAPI page (served locally)

The model is loaded once, at start. Sentences of concurrent requests share model calls
(framing.batcher). Every error, ours or the framework's, is JSON {"code", "message"} with a code
of framing/errors.py; a traceback goes to the server log, never to the client."""

from __future__ import annotations

import asyncio
import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Optional

import numpy as np
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from framing.batcher import MicroBatcher
from framing.errors import Errors, FramingError
from framing.labels import check_labels
from framing.model.framer import Framer, split_document
from framing.results import THRESHOLDS, ErrorBody, ModelInfo, ScoreRequest, ScoreResult, model_info, score_result
from framing.textio import Document, read_bytes, read_text

log = logging.getLogger("framing.serve")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# HTTP status per error code; any other FramingError is a 400.
STATUS = {"E001": 422, "E002": 422, "E003": 415, "E004": 422, "E005": 413, "E006": 422, "E007": 422, "E105": 422,
          "E501": 400, "E502": 422, "E503": 503, "E504": 413, "E505": 413, "E506": 504, "E507": 401, "E509": 500}
ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 413, 415, 422, 503, 504)}


def error_response(code: str, message: str, status: int, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (E504, 413): by Content-Length before reading,
    and by counting while reading when the length is not announced."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    def _error(self) -> FramingError:
        return FramingError(Errors.E504, limit_mb=round(self.limit / 2**20, 2))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.limit:
            return await self._refuse(scope, receive, send)
        received, refused, answered = 0, False, False

        async def counted():
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                refused = True
                raise self._error()  # stops the read; whatever the app answers to that is replaced below
            return message

        async def replaced(message):
            nonlocal answered
            if not refused:
                await send(message)
            elif not answered:
                answered = True
                await self._refuse(scope, receive, send)

        try:
            await self.app(scope, counted, replaced)
        except FramingError:
            if not refused or answered:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send):
        err = self._error()
        await error_response(err.code, err.message, 413)(scope, receive, send)


def create_app(framer: Framer, api_key: Optional[str] = None, max_body_mb: float = 2.0, max_sentences: int = 2000,
               timeout_s: float = 30.0, max_batch: int = 64, max_wait_ms: float = 10.0, max_queue: int = 4096) -> FastAPI:
    from framing.page import render_page
    from swagger_ui_bundle import swagger_ui_path

    batcher = MicroBatcher(lambda texts: framer.predict_proba(texts), max_batch, max_wait_ms / 1000, max_queue)
    # One splitting thread: kiwi spreads a text's lines over its own worker threads with the GIL
    # released (model/splitter.py), so splitting request N+1 overlaps scoring request N.
    splitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="framing-split")

    @asynccontextmanager
    async def lifespan(_app):
        await batcher.start()
        yield
        await batcher.stop()
        splitter.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="framing", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Label the sentences of Korean news articles with the rhetorical frames of state propaganda.")
    app.add_middleware(BodyLimit, limit=int(max_body_mb * 2**20))
    app.mount("/docs-static", StaticFiles(directory=swagger_ui_path), name="docs-static")
    bearer = HTTPBearer(auto_error=False, description="Required when the server was started with --api-key.")
    page = render_page(framer, auth=api_key is not None)

    def authorised(creds: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        if api_key is not None and (creds is None or not hmac.compare_digest(creds.credentials.encode(), api_key.encode())):
            raise FramingError(Errors.E507)

    @app.exception_handler(FramingError)
    async def _framing_error(_request, err: FramingError):
        headers = {"Retry-After": str(batcher.retry_after())} if err.code == "E503" else None
        if err.code == "E507":
            headers = {"WWW-Authenticate": "Bearer"}
        return error_response(err.code, err.message, STATUS.get(err.code, 400), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            err = FramingError(Errors.E501, problem=first.get("ctx", {}).get("error", first["msg"]))
        else:
            field = ".".join(str(p) for p in first["loc"] if p != "body") or "body"
            err = FramingError(Errors.E502, field=field, problem=first["msg"])
        return error_response(err.code, err.message, STATUS[err.code])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        err = FramingError(Errors.E508, method=request.method, path=request.url.path, problem=str(exc.detail).lower())
        return error_response(err.code, err.message, exc.status_code, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(_request, exc: Exception):
        log.exception("unexpected error while serving a request")
        err = FramingError(Errors.E509, problem=type(exc).__name__)
        return error_response(err.code, err.message, 500)

    async def score_documents(docs: list[Document], thresholds: dict[str, float]) -> ScoreResult:
        check_labels(thresholds, "thresholds")
        split = await asyncio.get_running_loop().run_in_executor(splitter, lambda: [split_document(d.name, d.text) for d in docs])
        texts = [s.text for d in split for s in d.sentences]
        if len(texts) > max_sentences:
            raise FramingError(Errors.E505, count=len(texts), limit=max_sentences)
        probs = await batcher.score(texts) if texts else np.zeros((0, len(framer.labels)))
        return score_result(framer, framer.assemble(split, probs, thresholds), thresholds)

    async def within_timeout(work) -> ScoreResult:
        try:
            return await asyncio.wait_for(work, timeout_s)
        except asyncio.TimeoutError:
            raise FramingError(Errors.E506, timeout=timeout_s) from None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return HTMLResponse(page.html, headers=page.headers)

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict:
        return {"status": "ok", "queued_sentences": batcher.queued, "batches": batcher.batches, "sentences": batcher.sentences}

    @app.get("/v1/model", response_model=ModelInfo, responses=ERRORS, dependencies=[Depends(authorised)],
             summary="Labels, thresholds and model card metadata")
    async def get_model() -> ModelInfo:
        return model_info(framer)

    @app.post("/v1/score", response_model=ScoreResult, responses=ERRORS, dependencies=[Depends(authorised)],
              summary="Split texts into sentences and label each one")
    async def post_score(body: ScoreRequest) -> ScoreResult:
        docs = [read_text(text, name) for name, text in body.named_texts()]
        return await within_timeout(score_documents(docs, body.thresholds))

    @app.post("/v1/score/file", response_model=ScoreResult, responses=ERRORS, dependencies=[Depends(authorised)],
              summary="Score an uploaded .txt, .html or .jsonl file (UTF-8, UTF-16, CP949/EUC-KR)")
    async def post_file(file: UploadFile = File(...), thresholds: str = Form("{}", description='JSON, e.g. {"terrorism": 0.4}')) -> ScoreResult:
        try:
            parsed = THRESHOLDS.validate_json(thresholds or "{}")
        except ValidationError as exc:
            first = exc.errors()[0]
            raise FramingError(Errors.E502, field=".".join(map(str, ["thresholds", *first["loc"]])), problem=first["msg"]) from None
        docs = read_bytes(await file.read(), file.filename or "upload.txt", max_body_mb)
        return await within_timeout(score_documents(docs, parsed))

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="framing API", swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css", swagger_favicon_url="/docs-static/favicon-32x32.png")

    return app


def serve(model, host: str = "127.0.0.1", port: int = 8000, **limits) -> None:
    """Load the model once, warm it up, and serve until Ctrl-C."""
    import uvicorn

    framer = Framer.load(model)
    framer.score_text("모델을 준비한다.")  # load the splitter and run the kernels once before the first request
    app = create_app(framer, **limits)
    shown = f"[{host}]" if ":" in host else host
    print(f"framing: serving {model} on http://{shown}:{port}/ (API docs at /docs; Ctrl-C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
