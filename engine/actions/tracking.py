"""A dict that remembers which keys were read (the optimizer proves independence with it)."""

from __future__ import annotations


class TrackingDict(dict):
    """Records top-level keys read through ``[]``, ``get``, ``in``, iteration, ``keys``/``items``/``values``.

    Whole-context reads (``dict(ctx)``, ``{**ctx}``, ``json.dumps(ctx)``, loops) count as reading every
    key: the optimizer may then miss a parallelization, but never proposes a wrong one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.keys_read: set[str] = set()

    def __getitem__(self, key):
        self.keys_read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.keys_read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.keys_read.add(key)
        return super().__contains__(key)

    def items(self):
        self.keys_read.update(super().keys())
        return super().items()

    def values(self):
        self.keys_read.update(super().keys())
        return super().values()

    def __iter__(self):  # dict(ctx), {**ctx}, for-loops: the code may read any key
        self.keys_read.update(super().keys())
        return super().__iter__()

    def keys(self):
        self.keys_read.update(super().keys())
        return super().keys()

    def copy(self):
        self.keys_read.update(super().keys())
        return dict(self)

    def __reduce__(self):
        return (dict, (dict(self),))
