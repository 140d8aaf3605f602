"""The one exception type meant for users.

The CLI and the demo turn an ``HmrError`` into a single readable line; anything else is a bug
and keeps its traceback.
"""


class HmrError(Exception):
    """A problem the user can fix: a missing file, a bad image, a wrong option."""


def missing_checkpoint(path: object) -> HmrError:
    """The one message for a checkpoint that is not there: where checkpoints come from."""
    return HmrError(
        f"checkpoint {path} does not exist; pass an existing .pt or .safetensors file "
        f"(weights/README.md says where to get them)"
    )
