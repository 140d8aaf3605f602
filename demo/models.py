"""What the demo may run (its configuration) and the predictors it has loaded for it.

A browser can only pick among the checkpoints the operator offered at start-up (``hmr demo
--checkpoint``, ``weights/``), never type a path: loading a ``.pt`` unpickles it, so a shared demo
must not open arbitrary files on the server.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hmr.errors import HmrError

log = logging.getLogger("hmr")

REPO = Path(__file__).resolve().parents[1]
#: value of the checkpoint setting that selects the open keypoint-fitting pipeline (no trained weights)
OPEN_DEFAULT = "open-default"
#: value of the body-model setting that keeps the checkpoint's own body model
AUTO_BODY = "auto"
BACKENDS = ("torch", "onnx")
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".safetensors", ".onnx")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


@dataclass(frozen=True)
class ModelChoice:
    """One loadable predictor: the cache key of :class:`PredictorCache`."""

    checkpoint: str  # a path among DemoConfig.checkpoints, or OPEN_DEFAULT
    body_model: str  # a body-model name or AUTO_BODY
    backend: str


@dataclass
class DemoConfig:
    """Server-side settings, fixed at start-up (``hmr demo`` options)."""

    checkpoints: list[str] = field(default_factory=list)  # offered in Settings; the first is the default
    models_dir: str | None = None
    device: str = "auto"
    concurrency: int | None = None  # requests run at once per tab; None: suited to the device
    queue_size: int = 32  # requests waiting beyond this are refused with a message
    max_video_s: float = 60.0  # longer videos are cut here
    live_max_side: int = 640  # live frames are shrunk to this before the network
    max_upload: str = "200mb"
    examples: list[Path] = field(default_factory=list)
    cache_size: int = 3  # loaded predictors kept in memory

    def __post_init__(self) -> None:
        self.checkpoints = [str(c) for c in self.checkpoints] or [OPEN_DEFAULT]
        if self.cache_size < 1 or self.queue_size < 1 or (self.concurrency is not None and self.concurrency < 1):
            raise HmrError("cache size, queue size and concurrency must be at least 1")

    @property
    def default_choice(self) -> ModelChoice:
        checkpoint = self.checkpoints[0]
        return ModelChoice(checkpoint, AUTO_BODY, "onnx" if checkpoint.endswith(".onnx") else "torch")

    def checkpoint_choices(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the Settings dropdown."""
        return [
            ("open default: keypoints + body fitting" if c == OPEN_DEFAULT else Path(c).name, c)
            for c in self.checkpoints
        ]

    def body_model_choices(self) -> list[tuple[str, str]]:
        from hmr.body import available_body_models

        return [("as the checkpoint predicts", AUTO_BODY)] + [(n, n) for n in available_body_models(self.models_dir)]

    def resolved_concurrency(self) -> int:
        """One request at a time on a CPU (torch already uses every core for one image); two on a
        GPU, so one request's rendering and file writing overlap the next one's network pass."""
        if self.concurrency is not None:
            return self.concurrency
        from hmr.infer.predictor import resolve_device

        return 2 if resolve_device(self.device).type == "cuda" else 1

    def check(self, choice: ModelChoice) -> ModelChoice:
        """The choice as sent by a browser or API client, refused unless the operator offered it."""
        if choice.checkpoint not in self.checkpoints:
            raise HmrError(f"unknown checkpoint {choice.checkpoint!r}; choose one listed in Settings")
        if choice.backend not in BACKENDS:
            raise HmrError(f"unknown backend {choice.backend!r}; choose torch or onnx")
        from hmr.body import BODY_MODEL_NAMES

        if choice.body_model != AUTO_BODY and choice.body_model not in BODY_MODEL_NAMES:
            raise HmrError(f"unknown body model {choice.body_model!r}; choose one of {', '.join(BODY_MODEL_NAMES)}")
        return choice


def find_checkpoints(explicit: list[str] | None = None, weights_dir: Path = REPO / "weights") -> list[str]:
    """The checkpoints to offer: those given on the command line, then any in ``weights/``.

    The open keypoint-fitting pipeline is offered first when no checkpoint is given, last otherwise.
    """
    found = [str(Path(c).resolve()) for c in explicit or []]
    for path in explicit or []:
        if not Path(path).is_file():
            raise HmrError(f"--checkpoint {path}: no such file")
    if weights_dir.is_dir():
        found += sorted(str(p.resolve()) for p in weights_dir.iterdir() if p.suffix.lower() in CHECKPOINT_SUFFIXES)
    found = list(dict.fromkeys(found))
    return found + [OPEN_DEFAULT] if found else [OPEN_DEFAULT]


def find_examples(folder: Path = REPO / "examples") -> list[Path]:
    """Example images shipped in the repository (``examples/*.jpg`` and friends)."""
    if not folder.is_dir():
        return []
    return sorted(p.resolve() for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


#: builds a predictor for a checked choice: (choice, config) -> hmr.Predictor
PredictorFactory = Callable[[ModelChoice, DemoConfig], object]


def default_factory(choice: ModelChoice, config: DemoConfig):
    from hmr.infer.predictor import Predictor

    return Predictor(
        checkpoint=None if choice.checkpoint == OPEN_DEFAULT else choice.checkpoint,
        body_model=None if choice.body_model == AUTO_BODY else choice.body_model,
        models_dir=config.models_dir,
        device=config.device,
        backend=choice.backend,
        batch_size=4,
    )


class LoadedPredictor:
    """A predictor and the lock that serialises its calls: one network pass at a time per model
    (on a CPU a second concurrent pass only splits the cores), while rendering and file writing
    of other requests go on in parallel."""

    def __init__(self, choice: ModelChoice, predictor) -> None:
        self.choice = choice
        self.predictor = predictor
        self.lock = threading.Lock()

    def predict(self, *args, **kw):
        with self.lock:
            return self.predictor.predict(*args, **kw)

    def predict_files(self, paths, **kw) -> list:
        with self.lock:
            return list(self.predictor.predict_files(paths, **kw))

    def describe(self) -> str:
        """E.g. ``smplx body, torch on cuda`` or ``anny body, keypoint fitting on cpu``."""
        backend = getattr(self.predictor, "backend", None)
        where = getattr(backend, "device", None) or getattr(backend, "provider", None) or "cpu"
        runtime = "keypoint fitting" if self.choice.checkpoint == OPEN_DEFAULT else self.choice.backend
        return f"{self.predictor.body_model} body, {runtime} on {where}"


class PredictorCache:
    """Loaded predictors per (checkpoint, body model, backend), least recently used dropped first.

    The device is fixed for the whole server, so it is part of every key implicitly. Loading one
    model does not block requests for another that is already loaded.
    """

    def __init__(self, config: DemoConfig, factory: PredictorFactory = default_factory) -> None:
        self.config = config
        self.factory = factory
        self._entries: OrderedDict[ModelChoice, LoadedPredictor] = OrderedDict()
        self._loading: dict[ModelChoice, threading.Lock] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, choice: ModelChoice) -> LoadedPredictor:
        choice = self.config.check(choice)
        with self._lock:
            if choice in self._entries:
                self._entries.move_to_end(choice)
                return self._entries[choice]
            loading = self._loading.setdefault(choice, threading.Lock())
        with loading:  # a second request for a model being loaded waits for that load
            with self._lock:
                if choice in self._entries:
                    return self._entries[choice]
            log.info("demo: loading %s", choice)
            entry = LoadedPredictor(choice, self.factory(choice, self.config))
            with self._lock:
                self._entries[choice] = entry
                self._loading.pop(choice, None)
                while len(self._entries) > self.config.cache_size:
                    dropped, _ = self._entries.popitem(last=False)
                    log.info("demo: unloaded %s", dropped)
            return entry
