"""Errors a user can cause and fix; the CLI prints them as one line, never a traceback."""


class LenetlabError(Exception):
    """Base class of every error that is the user's to fix (bad file, bad flag, no data)."""


class DataError(LenetlabError):
    """A data file is missing, malformed, truncated or fails its checksum."""


class ImageError(LenetlabError):
    """An image file cannot be read."""


class TrainingDiverged(LenetlabError):
    """The loss became NaN or infinite; training stopped before writing a bad checkpoint."""


class CheckpointError(LenetlabError):
    """A checkpoint is missing, unreadable or belongs to another configuration."""
