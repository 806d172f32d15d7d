"""The store's one error: what its callers catch, whatever the backend."""


class StoreUnavailable(Exception):
    """The store could not be read or written (locked, disk full, unwritable, gone)."""
