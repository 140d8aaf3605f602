"""Inference: the ``Predictor`` and its backends (eager torch network, ONNX Runtime, keypoint fit).

Import the modules themselves (``hmr.infer.predictor``, ``hmr.infer.onnx_backend``, ...); this package
imports nothing so that the ONNX path stays free of torch.
"""
