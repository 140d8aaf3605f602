"""Checkpoint -> self-describing ONNX file (``hmr export onnx``).

Uses the dynamo exporter at opset 18: it keeps the batch dimension dynamic through the ViT, where
the legacy TorchScript exporter silently bakes shapes in. The image size is fixed per file (the
position embedding and the head's row / column tables are sized for it).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import time
import warnings
from pathlib import Path

import onnx
import torch

from hmr import __version__
from hmr.atomic import atomic_path
from hmr.body import load_body_model
from hmr.compat import load_network
from hmr.errors import HmrError
from hmr.export.graph import HumanMeshGraph
from hmr.export.metadata import build_metadata, write_metadata
from hmr.export.precision import strip_node_metadata, to_fp16, to_int8
from hmr.nn import HumanMeshNet
from hmr.nn.outputs import SMPLX_ROTATION_LAYOUT
from hmr.onnx_format import INPUT_NAMES

log = logging.getLogger("hmr")

OPSET = 18
PRECISIONS = ("fp32", "fp16", "int8")
#: protobuf cannot hold more than 2 GiB; larger models keep their weights in ``<out>.data`` beside the file
MAX_SINGLE_FILE_BYTES = 1_800_000_000


def export_onnx(
    checkpoint: str | os.PathLike | HumanMeshNet,
    out: str | os.PathLike,
    *,
    img_size: int | None = None,
    max_persons: int = 10,
    precision: str = "fp32",
    body_model=None,
    models_dir: str | os.PathLike | None = None,
    nms_kernel: int = 3,
) -> Path:
    """Export ``checkpoint`` (a ``.pt`` / ``.safetensors`` path or a loaded network) to ``out``.

    ``body_model``: ``None`` for the network's own body model (SMPL-X, looked up in ``models_dir``),
    ``"none"`` for parameters only, or a loaded :class:`hmr.body.BodyModel`. ``precision`` is
    ``fp32``, ``fp16`` or ``int8``. Takes about a minute for a ViT-S on two CPU cores.
    """
    exporter = OnnxExporter(
        checkpoint,
        img_size=img_size,
        max_persons=max_persons,
        body_model=body_model,
        models_dir=models_dir,
        nms_kernel=nms_kernel,
    )
    return exporter.save(out, precision)


class OnnxExporter:
    """One traced graph, saved in any number of precisions (tracing is the slow part: do it once)."""

    def __init__(
        self,
        checkpoint: str | os.PathLike | HumanMeshNet,
        *,
        img_size: int | None = None,
        max_persons: int = 10,
        body_model=None,
        models_dir: str | os.PathLike | None = None,
        nms_kernel: int = 3,
    ) -> None:
        network = checkpoint if isinstance(checkpoint, HumanMeshNet) else load_network(checkpoint)
        config = network.config
        if img_size is not None and img_size != config.img_size:
            raise HmrError(
                f"this checkpoint is built for {config.img_size} px (its head learned one row / column "
                f"entry per token of a {config.grid_size} x {config.grid_size} grid); export it with "
                f"--img-size {config.img_size}"
            )
        if config.body_model != "smplx":
            raise HmrError(
                f"only SMPL-X networks can be exported to ONNX so far; this one predicts {config.body_model}"
            )
        cells = config.grid_size**2
        if not 1 <= max_persons <= cells:
            raise HmrError(
                f"--max-persons must be between 1 and {cells} (the token grid) for {config.img_size} px, "
                f"got {max_persons}"
            )
        if nms_kernel < 1 or nms_kernel % 2 == 0:
            raise HmrError(f"NMS kernel must be an odd integer >= 1, got {nms_kernel}")
        self.config = config
        self.body = _resolve_body(body_model, config.body_model, models_dir)
        self.graph = HumanMeshGraph(
            network.float().eval(),
            max_persons,
            nms_kernel,
            self.body,
            head_joint=getattr(self.body, "head_joint", 15),
            pelvis_joint=getattr(self.body, "pelvis_joint", 0),
        )
        self.source = "<in-memory network>" if isinstance(checkpoint, HumanMeshNet) else Path(checkpoint).name
        self._traced: onnx.ModelProto | None = None

    def traced(self) -> onnx.ModelProto:
        """The fp32 graph with the exporter's per-node records (needed to find the network's nodes)."""
        if self._traced is None:
            started = time.perf_counter()
            log.info(
                "tracing %s at %d px, %d person slots%s (about a minute per ViT-S on a laptop CPU)...",
                self.config.backbone,
                self.config.img_size,
                self.graph.max_persons,
                ", with the SMPL-X mesh" if self.body is not None else ", parameters only",
            )
            self._traced = _trace(self.graph, self.config.img_size)
            log.info("traced in %.0f s", time.perf_counter() - started)
        return self._traced

    def save(self, out: str | os.PathLike, precision: str = "fp32") -> Path:
        if precision not in PRECISIONS:
            raise HmrError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
        out = Path(out)
        if out.suffix != ".onnx":
            raise HmrError(f"output must end in .onnx, got {out.name}")
        model = onnx.ModelProto()
        model.CopyFrom(self.traced())
        if precision == "fp16":
            model = to_fp16(model)
        elif precision == "int8":
            model = to_int8(model, large=weights_bytes(model) > MAX_SINGLE_FILE_BYTES)
        strip_node_metadata(model)
        body, graph = self.body, self.graph
        metadata = build_metadata(
            model,
            network_config=self.config.to_dict(),
            source=self.source,
            img_size=self.config.img_size,
            max_persons=graph.max_persons,
            nms_kernel=graph.nms_kernel,
            precision=precision,
            body_model=body.name if body is not None else "none",
            network_body_model=self.config.body_model,
            rotation_layout=list(SMPLX_ROTATION_LAYOUT),
            head_joint=graph.head_joint,
            pelvis_joint=graph.pelvis_joint,
            faces=body.faces if body is not None else None,
            joint_names=list(body.joint_names) if body is not None else None,
            hmr_version=__version__,
        )
        write_metadata(model, metadata, __version__)
        path = _save(model, out)
        log.info("wrote %s (%s, %.0f MB)", path, precision, path.stat().st_size / 1e6)
        return path


def _resolve_body(body_model, network_body_model: str, models_dir):
    if isinstance(body_model, str) and body_model.lower() == "none":
        return None
    if body_model is None or isinstance(body_model, str):
        name = (body_model or network_body_model).lower()
        if name != "smplx":
            raise HmrError(
                f"only the SMPL-X mesh can be built inside the ONNX graph, not {name!r}; "
                "use --body-model smplx or --body-model none"
            )
        return load_body_model(name, models_dir=models_dir)
    if getattr(body_model, "name", "") != "smplx":
        raise HmrError(f"only the SMPL-X mesh can be built inside the ONNX graph, not {body_model.name!r}")
    return body_model.float().eval()


def _trace(graph: HumanMeshGraph, img_size: int) -> onnx.ModelProto:
    """Dynamo export with a dynamic batch; the exporter's progress prints and warnings are kept quiet."""
    batch = 2  # not 1: the exporter would specialise a size-1 dimension
    focal = img_size / (2 * math.tan(math.radians(30.0)))
    K = torch.tensor([[focal, 0.0, img_size / 2], [0.0, focal, img_size / 2], [0.0, 0.0, 1.0]]).expand(batch, 3, 3)
    example = (torch.zeros(batch, 3, img_size, img_size, dtype=torch.uint8), K.contiguous(), torch.tensor(0.5))
    batch_dim = torch.export.Dim("batch", min=1, max=4096)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet_loggers(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            program = torch.onnx.export(
                graph,
                example,
                dynamo=True,
                opset_version=OPSET,
                verbose=False,
                input_names=list(INPUT_NAMES),
                output_names=graph.output_names,
                dynamic_shapes=({0: batch_dim}, {0: batch_dim}, {}),
                optimize=True,
            )
        except Exception as exc:  # the exporter's errors are long reports; keep the first line
            text = str(exc).strip()
            raise HmrError(f"ONNX export failed: {text.splitlines()[0][:300] if text else type(exc).__name__}") from exc
    assert program is not None  # None only for the legacy (dynamo=False) exporter
    return program.model_proto


@contextlib.contextmanager
def _quiet_loggers(names: tuple[str, ...] = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")):
    """The exporter and its optimiser log hundreds of INFO lines (folded constants, merged weights)."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _save(model: onnx.ModelProto, out: Path) -> Path:
    large = weights_bytes(model) > MAX_SINGLE_FILE_BYTES
    with atomic_path(out) as tmp:
        if large:
            onnx.save_model(
                model, str(tmp), save_as_external_data=True, all_tensors_to_one_file=True, location=f"{out.name}.data"
            )
            # the weights go straight to their final name beside the graph; only the graph file is renamed
        else:
            onnx.save_model(model, str(tmp))
    return out


def weights_bytes(model: onnx.ModelProto) -> int:
    """Bytes of the initializers (what decides between one file and graph + ``.data``)."""
    return sum(len(t.raw_data) or 4 * len(t.float_data) for t in model.graph.initializer)
