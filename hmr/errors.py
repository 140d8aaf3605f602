"""The one exception type meant for users.

The CLI and the demo turn an ``HmrError`` into a single readable line; anything else is a bug
and keeps its traceback.
"""


class HmrError(Exception):
    """A problem the user can fix: a missing file, a bad image, a wrong option."""
