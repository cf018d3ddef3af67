"""The filter plugins' import guard: a filter file loads even when its voipctl imports fail.

Each filter file imports its voipctl names inside ``with ImportGuard() as need_voipctl:``;
an ImportError there is kept, and every filter that needs those names starts with
``need_voipctl("voip_x")``, which then fails with the filter's name, the fix and the
cause. Filters that need none of them keep working.

This module imports nothing of voipctl's and lives in the collection, so a filter file
imports without the voipctl package (ansible-doc, ansible-test's import test, a controller
without ``make venv``); only the filters that need voipctl fail, when they are used.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


class ImportGuard:
    """A context manager over a filter file's voipctl imports; called with a filter's name, it checks them."""

    def __init__(self) -> None:
        self.error: ImportError | None = None

    def __enter__(self) -> ImportGuard:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        """Keep an ImportError (the file still loads); let anything else through."""
        if isinstance(error, ImportError):
            self.error = error
            return True
        return False

    def __call__(self, name: str) -> None:
        """Raise for filter ``name`` when the guarded imports failed."""
        if self.error is not None:
            raise AnsibleFilterError(f"{name} needs the voipctl package (run `make venv`): {self.error}")
