"""Keypoint detection and body-model fitting: the pipeline that needs no trained HMR weights.

``FitPipeline`` detects every person with the BlazePose models bundled in ``mediapipe==0.10.14``
and fits a body model (Anny by default) to each. mediapipe is imported only when a detector is
built, so importing this package is cheap.
"""

from hmr.fit.fitter import FitSettings
from hmr.fit.pipeline import FitPipeline

__all__ = ["FitPipeline", "FitSettings"]
