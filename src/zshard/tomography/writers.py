"""The n(z) files, each written atomically: :func:`write_nz_fits` (the CosmoSIS / ``twopoint``
``NZ_SOURCE`` layout), :func:`write_nz_text` (``numpy.loadtxt``; CosmoSIS ``load_nz``),
:func:`write_nz_sacc` (a SACC file with one ``NZ`` tracer per bin, LSST DESC ``sacc``).
"""

from __future__ import annotations

import os

import numpy as np

from zshard.io.atomic import atomic_path
from zshard.tomography.reduction import NzResult

__all__ = [
    "write_nz_fits",
    "write_nz_text",
    "write_nz_sacc",
]


def write_nz_fits(path: str | os.PathLike, result: NzResult, extname: str = "NZ_SOURCE") -> str:
    """Write n(z) as a FITS binary table in the CosmoSIS / ``twopoint`` layout, atomically.

    The file has an empty primary HDU and one binary table extension ``extname`` (default
    ``NZ_SOURCE``) with float64 columns ``Z_LOW``, ``Z_MID``, ``Z_HIGH`` (fine grid cell edges and
    centres) and ``BIN1`` .. ``BINn`` (n(z) per unit redshift). Header keywords: ``NZDATA`` = T
    (the sentinel by which ``twopoint`` finds n(z) extensions), ``NBIN`` (number of bins), ``NZ``
    (number of grid rows), ``MEAN_Z_i`` and ``NGAL_i`` (mean redshift and number of objects of bin
    i, 1-based), ``ZLOW_i`` / ``ZHIGH_i`` (tomographic bin edges), ``NOBJ`` (rows seen) and
    ``NCUT`` (rows removed by the selection cuts). Empty bins have a zero column and ``MEAN_Z_i`` =
    -1 (FITS headers cannot hold NaN).

    Returns the path written.
    """
    import warnings

    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    z_low, z_high = result.grid_edges[:-1], result.grid_edges[1:]
    cols = [fits.Column(name="Z_LOW", format="D", array=z_low),
            fits.Column(name="Z_MID", format="D", array=result.grid_centres),
            fits.Column(name="Z_HIGH", format="D", array=z_high)]
    for i in range(result.nbins):
        cols.append(fits.Column(name=f"BIN{i + 1}", format="D", array=result.nz[i]))
    hdu = fits.BinTableHDU.from_columns(cols, name=extname)
    hdr = hdu.header
    with warnings.catch_warnings():  # keywords longer than 8 characters (>= 10 bins) use HIERARCH
        warnings.simplefilter("ignore", VerifyWarning)
        hdr["NZDATA"] = (True, "this extension holds n(z) data (twopoint)")
        hdr["NBIN"] = (result.nbins, "number of tomographic bins")
        hdr["NZ"] = (result.grid_centres.size, "number of redshift rows")
        for i in range(result.nbins):
            mz = result.mean_z[i]
            hdr[f"MEAN_Z_{i + 1}"] = (float(mz) if np.isfinite(mz) else -1.0, "mean z of bin n(z)")
            hdr[f"NGAL_{i + 1}"] = (int(result.counts[i]), "objects in bin")
            hdr[f"ZLOW_{i + 1}"] = (float(result.edges[i]), "bin lower edge")
            hdr[f"ZHIGH_{i + 1}"] = (float(result.edges[i + 1]), "bin upper edge")
        hdr["NOBJ"] = (int(result.n_objects), "rows seen incl. unbinned")
        hdr["NCUT"] = (int(result.cuts_failed.get("any", 0)), "rows removed by selection cuts")
    path = str(path)
    with atomic_path(path) as tmp:
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp, overwrite=True)
    return path


def write_nz_text(path: str | os.PathLike, result: NzResult) -> str:
    """Write n(z) as whitespace-separated text, atomically; readable with ``numpy.loadtxt``.

    ``#`` header lines give the bin edges, counts and mean redshifts; then one row per fine grid
    cell with columns ``z_mid bin1 .. binn`` (n(z) per unit redshift).

    Returns the path written.
    """
    header = [
        "zshard tomographic n(z): density per unit redshift, each bin integrates to 1",
        "bin_edges: " + " ".join(f"{e:.6g}" for e in result.edges),
        "counts: " + " ".join(str(int(c)) for c in result.counts),
        "mean_z: " + " ".join(f"{m:.6f}" for m in result.mean_z),
        "grid: cell width " + " ".join(sorted({f"{d:.6g}" for d in np.diff(result.grid_edges)}))
        + f", z from {result.grid_edges[0]:.6g} to {result.grid_edges[-1]:.6g}",
        "columns: z_mid " + " ".join(f"bin{i + 1}" for i in range(result.nbins)),
    ]
    table = np.column_stack([result.grid_centres, result.nz.T])
    path = str(path)
    with atomic_path(path) as tmp:
        np.savetxt(tmp, table, fmt="%.8e", header="\n".join(header), comments="# ")
    return path


def write_nz_sacc(path: str | os.PathLike, result: NzResult, quantity: str = "galaxy_shear") -> str:
    """Write n(z) as a SACC file (LSST DESC ``sacc``), atomically: one ``NZ`` tracer per bin.

    Tracer ``source_i`` (``i`` = 0 .. nbins - 1, the bin index of the JSON outputs; ``BIN{i+1}``
    of the FITS file) holds ``z`` = the fine grid centres and ``nz`` = the bin's n(z) per unit
    redshift (unit area). Its metadata: ``mean_z`` (omitted for an empty bin), ``n_gal`` (objects
    in the bin), ``z_low`` / ``z_high`` (the tomographic edges). ``quantity`` is SACC's tracer
    quantity (``galaxy_shear`` for weak-lensing sources). Read it back with
    ``sacc.Sacc.load_fits(path).tracers["source_0"]``.

    Returns the path written.
    """
    import warnings

    import sacc
    from astropy.io.fits.verify import VerifyWarning

    s = sacc.Sacc()
    for i in range(result.nbins):
        meta = {"n_gal": int(result.counts[i]), "z_low": float(result.edges[i]),
                "z_high": float(result.edges[i + 1])}
        if np.isfinite(result.mean_z[i]):
            meta["mean_z"] = float(result.mean_z[i])
        s.add_tracer("NZ", f"source_{i}", result.grid_centres.copy(), result.nz[i].copy(),
                     quantity=quantity, metadata=meta)
    path = str(path)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)  # META_ keywords longer than 8 characters
        s.save_fits(tmp, overwrite=True)
    return path
