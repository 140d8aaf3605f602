"""Tiny source datasets in their real on-disk layouts, built from known bodies."""
