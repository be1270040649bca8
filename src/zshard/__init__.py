"""zshard: sharded photometric redshifts and tomographic n(z)."""

__version__ = "0.1.0"
