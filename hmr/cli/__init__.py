"""Command-line interface; see :mod:`hmr.cli.main`."""
