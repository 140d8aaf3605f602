"""MediaPipe's bundled BlazePose graphs, driven with graph configs of our own.

``mediapipe==0.10.14`` is the last release whose wheel carries its model files, so everything here
runs offline. Its legacy ``Pose`` solution tracks a single person; the subgraphs it is built from
(``PoseDetectionCpu``, ``PoseLandmarkByRoiCpu``, ``HandLandmarksLeftAndRightCpu``,
``FaceLandmarksFromPoseCpu``) are registered in the wheel's binary, so we wire them ourselves:
detection over image tiles with our own score threshold, landmarks on regions we choose.

mediapipe is imported only when a graph is built, so ``import hmr.fit`` stays light.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from hmr.errors import HmrError

#: the only pose-landmark model the wheel bundles (0 "lite" and 2 "heavy" are downloads)
MODEL_COMPLEXITY = 1

INSTALL_HINT = (
    "pip install --no-deps mediapipe==0.10.14 && pip install absl-py attrs flatbuffers matplotlib "
    "opencv-python-headless 'protobuf<5'"
)

DETECTION_GRAPH = """
input_stream: "image"
output_stream: "detections"
node { calculator: "PoseDetectionCpu" input_stream: "IMAGE:image" output_stream: "DETECTIONS:detections" }
"""

POSE_GRAPH = """
input_stream: "image"
input_stream: "roi"
output_stream: "landmarks"
output_stream: "world_landmarks"
output_stream: "aux_landmarks"
node {
  calculator: "PoseLandmarkByRoiCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  output_stream: "LANDMARKS:landmarks"
  output_stream: "WORLD_LANDMARKS:world_landmarks"
  output_stream: "AUXILIARY_LANDMARKS:aux_landmarks"
  input_side_packet: "MODEL_COMPLEXITY:model_complexity"
}
"""

HANDS_GRAPH = """
input_stream: "image"
input_stream: "landmarks"
output_stream: "left_hand"
output_stream: "right_hand"
node {
  calculator: "HandLandmarksLeftAndRightCpu"
  input_stream: "IMAGE:image"
  input_stream: "POSE_LANDMARKS:landmarks"
  output_stream: "LEFT_HAND_LANDMARKS:left_hand"
  output_stream: "RIGHT_HAND_LANDMARKS:right_hand"
}
"""

FACE_GRAPH = """
input_stream: "image"
input_stream: "landmarks"
output_stream: "face"
node {
  calculator: "SplitNormalizedLandmarkListCalculator"
  input_stream: "landmarks"
  output_stream: "face_from_pose"
  options { [mediapipe.SplitVectorCalculatorOptions.ext] { ranges { begin: 0 end: 11 } } }
}
node {
  calculator: "FaceLandmarksFromPoseCpu"
  input_stream: "IMAGE:image"
  input_stream: "FACE_LANDMARKS_FROM_POSE:face_from_pose"
  output_stream: "FACE_LANDMARKS:face"
}
"""


def import_mediapipe() -> Any:
    """The mediapipe module, or an HmrError that says how to install the working release."""
    # C++ INFO/WARNING lines (XNNPACK delegate, feedback tensors) are noise for users
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe
    except ImportError as exc:
        raise HmrError(
            f"the keypoint pipeline needs mediapipe 0.10.14 ({exc}); install it with: {INSTALL_HINT}"
        ) from exc
    if not hasattr(mediapipe, "solutions"):
        raise HmrError(
            f"mediapipe {getattr(mediapipe, '__version__', '?')} has no bundled BlazePose models; "
            f"install the release that has them: {INSTALL_HINT}"
        )
    return mediapipe


def build_graph(
    text: str,
    side_inputs: dict[str, Any] | None = None,
    roi_input: str | None = None,
    detection_score: float | None = None,
) -> Any:
    """A started ``SolutionBase`` running the graph ``text``.

    ``roi_input`` names an input stream that takes a proto (a ``NormalizedRect`` or a landmark
    list). ``detection_score`` overrides the score threshold of the detection subgraph (0.5 in the
    bundled graph, too strict for people seen small or from behind); it needs the subgraph
    expanded first, since options of nested nodes are not reachable otherwise.
    """
    import_mediapipe()
    from google.protobuf import text_format
    from mediapipe.calculators.tensor import tensors_to_detections_calculator_pb2
    from mediapipe.framework import calculator_pb2
    from mediapipe.python._framework_bindings import validated_graph_config
    from mediapipe.python.solution_base import PacketDataType, SolutionBase

    config = text_format.Parse(text, calculator_pb2.CalculatorGraphConfig())
    if detection_score is not None:
        validated = validated_graph_config.ValidatedGraphConfig()
        validated.initialize(graph_config=config)
        config = calculator_pb2.CalculatorGraphConfig.FromString(validated.binary_config)
        ext = tensors_to_detections_calculator_pb2.TensorsToDetectionsCalculatorOptions.ext
        for node in config.node:
            if node.calculator == "TensorsToDetectionsCalculator":
                node.options.Extensions[ext].min_score_thresh = float(detection_score)
    hints = {roi_input: PacketDataType.PROTO} if roi_input else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SolutionBase(graph_config=config, side_inputs=side_inputs, stream_type_hints=hints)


def run_graph(graph: Any, inputs: Any) -> Any:
    """``graph.process(inputs)`` without protobuf's deprecation warnings on every call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return graph.process(inputs)
