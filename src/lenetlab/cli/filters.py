"""Sub-commands of this module are being written; register() adds them to the CLI."""


def register(sub) -> None:
    """Placeholder until the commands land."""
