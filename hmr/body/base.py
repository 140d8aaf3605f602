"""The one interface every body model (SMPL-X, SKEL, Anny) implements.

Networks, fitters, exporters and writers only talk to this interface, so a new body model is one
new module and one registry entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ParamSpec:
    """One named parameter block of a body model, per person.

    ``shape`` excludes the batch dimension. ``kind`` tells consumers how to treat the values:
    ``rotvec`` (axis-angle, radians, (..., 3)), ``angle`` (radians), ``real`` (unbounded
    coefficients) or ``bounded`` (valid in ``[low, high]``).
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    low: float | None = None
    high: float | None = None
    doc: str = ""


@dataclass
class BodyOutput:
    """Posed body in the model's own frame, metres.

    vertices: (B, V, 3); joints: (B, K, 3).
    """

    vertices: torch.Tensor
    joints: torch.Tensor


class BodyModel(torch.nn.Module):
    """A batched, differentiable body model.

    Subclasses set the class attributes and implement :meth:`forward`. ``forward`` takes the
    parameters named in ``param_specs`` as keyword tensors with a leading batch dimension; any
    parameter left out is taken as its neutral value (zeros for most).
    """

    name: str = ""
    #: index into ``joints`` of the joint whose camera position a network predicts (Multi-HMR: head)
    head_joint: int = 0
    #: index into ``joints`` of the pelvis / root joint
    pelvis_joint: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.faces: np.ndarray = np.zeros((0, 3), np.int64)  # (F, 3)
        self.joint_names: list[str] = []
        self.param_specs: dict[str, ParamSpec] = {}

    @property
    def num_vertices(self) -> int:
        raise NotImplementedError

    def output_sizes(self) -> tuple[int, int]:
        """``(V, K)``: vertices and joints :meth:`forward` returns per person, from one neutral
        forward pass, done once (results with no person still report these sizes)."""
        if getattr(self, "_output_sizes", None) is None:
            with torch.no_grad():
                output = self(**self.neutral_params(1))
            self._output_sizes = (int(output.vertices.shape[1]), int(output.joints.shape[1]))
        return self._output_sizes

    def neutral_params(self, batch_size: int = 1) -> dict[str, torch.Tensor]:
        """Zero pose, mean shape: the starting point of fitting and the network's init."""
        device = next(iter(self.buffers())).device if any(True for _ in self.buffers()) else None
        return {n: torch.zeros((batch_size, *s.shape), device=device) for n, s in self.param_specs.items()}

    def forward(self, **params: torch.Tensor) -> BodyOutput:  # pragma: no cover - interface
        raise NotImplementedError
