"""Errors that voipctl reports to the operator as a message, not a traceback."""


class VoipctlError(Exception):
    """A problem the operator can act on; ``main()`` prints it and exits ``exit_code``."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class LabError(VoipctlError):
    """The lab could not be set up, inspected or removed."""
