"""Dataset converters into the unified ``hmr.data`` format, and the ``hmr-data`` command."""
