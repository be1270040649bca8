"""Keep pandas out of a process (the partition jobs), see :func:`without_pandas`."""

from __future__ import annotations


class _NoPandasFinder:
    """A meta-path finder that refuses to import pandas (see :func:`without_pandas`)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("pandas is not imported in this job (zshard.io.nopandas.without_pandas)",
                                      name=name)
        return None


def without_pandas() -> None:
    """Keep pandas out of this process: for the per-file and per-shard partition jobs.

    pyarrow imports pandas, if it is installed, on its first array conversion (to check whether
    an object is a pandas one), and that import costs about 0.4 CPU-s (measured here), more than
    the whole reduce of a 400k-row shard. Those jobs hold no pandas object, and pyarrow works
    without pandas when the import fails, so they call this before any Arrow work.
    """
    import sys

    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandasFinder())
