"""The Gradio web demo: ``hmr demo`` or ``python demo/app.py``; :func:`demo.app.build_app` builds it."""
