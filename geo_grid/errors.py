"""Domain exceptions: they know nothing of HTTP or the CLI.

``api/errors.py`` maps each class to a status code and the CLI maps :class:`BadInput` to exit code 2.
Every message names the offending field, file or value so the user can fix it without reading code.
"""

from __future__ import annotations


class GeoGridError(Exception):
    """Base class of every error the library raises on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __reduce__(self):
        """Pickled with its field and extras (``extra``), so an error raised in the API's worker
        processes (``api/workers.py``) reaches the client as it was raised.

        >>> import pickle
        >>> e = BadInput("crs: unknown", field="crs"); e.extra = {"allowed": ["4490"]}
        >>> back = pickle.loads(pickle.dumps(e))
        >>> type(back).__name__, back.message, back.field, back.extra
        ('BadInput', 'crs: unknown', 'crs', {'allowed': ['4490']})
        """
        return _restore, (type(self), self.message, self.field, dict(self.__dict__))


def _restore(cls: type[GeoGridError], message: str, field: str | None, state: dict):
    error = cls(message, field=field)
    error.__dict__.update(state)
    return error


class BadInput(GeoGridError):
    """The caller gave something unusable (file, field, value); nothing was stored."""


class TooLarge(GeoGridError):
    """Input over a byte limit (a request body, an uploaded file); refused before it was read whole."""


class NotFound(GeoGridError):
    """A named thing (layer, generation, grid, case, plan) does not exist."""


class Conflict(GeoGridError):
    """The request is well formed but clashes with the current state (e.g. a concurrent publish)."""


class Unauthorized(GeoGridError):
    """No credentials, or credentials that do not identify an active account or key."""


class Forbidden(GeoGridError):
    """The caller is known but their role or area does not allow this."""


class TooManyAttempts(GeoGridError):
    """The caller must wait ``retry_after`` seconds before trying again (login throttling)."""

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class DatabaseUnavailable(GeoGridError):
    """No database could be reached or started."""
