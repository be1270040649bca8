"""SED templates, filter curves, IGM attenuation and the colour model of the mock survey.

The 8 CWW+Kinney templates of Benítez (2004, ApJS 150, 1) and the LSST (DC2) filter curves
are the ones shipped with ``desc_bpz``; synthetic AB photometry of the redshifted templates,
with Madau (1995, ApJ 441, 18) IGM attenuation, gives a colour table on a (template, z) grid
that :class:`ColourModel` interpolates.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Sequence

import numpy as np

_DATA_PACKAGE = "desc_bpz"
_TEMPLATE_LIST = "CWWSB4.list"
#: The 8 CWW + Kinney templates of Benítez (2004), in ``CWWSB4.list`` order.
TEMPLATE_NAMES = (
    "El_B2004a",
    "Sbc_B2004a",
    "Scd_B2004a",
    "Im_B2004a",
    "SB3_B2004a",
    "SB2_B2004a",
    "ssp_25Myr_z008",
    "ssp_5Myr_z008",
)
_FILTER_PATTERN = "DC2LSST_{band}.res"
_REFERENCE_BAND = "i"  # m0 of the Benítez prior is an i-like (F814W) magnitude

# Colour-table grid (redshift); 0..3 step 0.005.
#: Largest redshift of the colour table (and so of the mock).
TABLE_Z_MAX = 3.0
_TABLE_DZ = 0.005
# Observed-frame wavelength step for the synthetic photometry [Å].
_TABLE_DLAM = 2.0

# Madau (1995) Lyman-series lines [Å] and effective-optical-depth amplitudes (eq. 15).
_LYMAN_SERIES = ((1215.67, 3.6e-3), (1025.72, 1.7e-3), (972.537, 1.2e-3), (949.743, 9.3e-4))
_LYMAN_LIMIT = 911.75


def _data_dir():
    return importlib.resources.files(_DATA_PACKAGE) / "data_files"


@functools.lru_cache(maxsize=1)
def load_templates() -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """Read the 8 CWW+Kinney SED templates (Benítez 2004) shipped with ``desc_bpz``.

    Returns
    -------
    tuple of (name, wavelength [Å], f_lambda [arbitrary])
        In ``CWWSB4.list`` order (E, Sbc, Scd, Im, SB3, SB2, 25 Myr, 5 Myr).
    """
    sed_dir = _data_dir() / "SED"
    names = [n.removesuffix(".sed") for n in (sed_dir / _TEMPLATE_LIST).read_text().split()]
    if tuple(names) != TEMPLATE_NAMES:
        raise RuntimeError(f"unexpected template list in desc_bpz: {names}")
    out = []
    for name in names:
        with (sed_dir / f"{name}.sed").open() as fh:
            arr = np.loadtxt(fh, comments="#")
        wave, idx = np.unique(arr[:, 0], return_index=True)
        out.append((name, wave, arr[idx, 1]))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def load_filters(bands: tuple[str, ...]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read the LSST (DC2) filter curves shipped with ``desc_bpz``.

    The files' first column is the wavelength in Å (the u-band header says nm, but the
    values span ~3000-4000, i.e. Å); the second is the total system transmission.

    Returns
    -------
    dict band -> (wavelength [Å], transmission)
    """
    filt_dir = _data_dir() / "FILTER"
    out = {}
    for b in bands:
        with (filt_dir / _FILTER_PATTERN.format(band=b)).open() as fh:
            arr = np.loadtxt(fh, comments="#")
        wave, idx = np.unique(arr[:, 0], return_index=True)
        out[b] = (wave, np.clip(arr[idx, 1], 0.0, None))
    return out


def madau_igm_transmission(wave_obs: np.ndarray, z: np.ndarray | float) -> np.ndarray:
    """Mean IGM transmission exp(-τ_eff) of Madau (1995, ApJ 441, 18).

    * Lyman-series forest (Madau 1995 eq. 15 with Table 2 coefficients; Lyα..Lyδ):
      ``τ = Σ_j A_j (λ_obs/λ_j)**3.46`` for ``λ_j < λ_obs < λ_j (1+z)``, with
      A = 3.6e-3, 1.7e-3, 1.2e-3, 9.3e-4.
    * Lyman-continuum (photoelectric) absorption by intervening systems for
      ``λ_obs < 912 (1+z)`` (Madau 1995, footnote 3 approximation), with
      ``x_c = λ_obs/912`` (clipped at 1) and ``x_e = 1+z``:
      ``τ = 0.25 x_c^3 (x_e^0.46 - x_c^0.46) + 9.4 x_c^1.5 (x_e^0.18 - x_c^0.18)
      - 0.7 x_c^3 (x_c^-1.32 - x_e^-1.32) - 0.023 (x_e^1.68 - x_c^1.68)``.

    Parameters
    ----------
    wave_obs : array_like
        Observed-frame wavelength [Å].
    z : array_like or float
        Source redshift (broadcast against ``wave_obs``).

    Returns
    -------
    ndarray
        Transmission in [0, 1], broadcast shape of the inputs.
    """
    lam = np.asarray(wave_obs, dtype=float)
    z = np.asarray(z, dtype=float)
    lam, z = np.broadcast_arrays(lam, z)
    tau = np.zeros(lam.shape)
    for lam_j, a_j in _LYMAN_SERIES:
        m = (lam > lam_j) & (lam < lam_j * (1.0 + z))
        tau += np.where(m, a_j * (lam / lam_j) ** 3.46, 0.0)
    xe = 1.0 + z
    xc = np.clip(lam / _LYMAN_LIMIT, 1.0, None)
    tau_lc = (
        0.25 * xc**3 * (xe**0.46 - xc**0.46)
        + 9.4 * xc**1.5 * (xe**0.18 - xc**0.18)
        - 0.7 * xc**3 * (xc**-1.32 - xe**-1.32)
        - 0.023 * (xe**1.68 - xc**1.68)
    )
    tau += np.where(lam < _LYMAN_LIMIT * xe, np.clip(tau_lc, 0.0, None), 0.0)
    return np.exp(-tau)


def colour_table(
    bands: Sequence[str],
    z_grid: np.ndarray,
    *,
    reference_band: str = _REFERENCE_BAND,
    igm: bool = True,
) -> np.ndarray:
    """AB colours ``m_b(T, z) - m_ref(T, z)`` by synthetic photometry.

    For each template ``f_λ(λ_rest)`` redshifted to ``z`` the photon-counting AB flux
    density is (e.g. Fukugita et al. 1996; Benítez 2000)

        ``f_ν,eff ∝ ∫ f_λ(λ/(1+z)) e^{-τ_IGM(λ,z)} T(λ) λ dλ / ∫ T(λ) (c/λ) dλ``,

    constants (including the (1+z) flux dimming) cancel in colours.  The IGM term is
    :func:`madau_igm_transmission`.

    Parameters
    ----------
    bands : sequence of str
        Bands b.
    z_grid : ndarray
        Redshifts (n_z,).
    reference_band : str
        Band subtracted (default i).
    igm : bool
        Apply Madau (1995) attenuation.

    Returns
    -------
    ndarray, shape (n_templates, n_z, n_bands)
        Colours [mag], capped at 40 where a template has no flux in a band.
    """
    allb = tuple(dict.fromkeys([*bands, reference_band]))
    filters = load_filters(allb)
    lo = min(w[t > 0].min() for w, t in filters.values())
    hi = max(w[t > 0].max() for w, t in filters.values())
    lam = np.arange(np.floor(lo), np.ceil(hi) + _TABLE_DLAM, _TABLE_DLAM)
    trans = np.stack([np.interp(lam, *filters[b], left=0.0, right=0.0) for b in allb])
    weight = (trans * lam).T  # (n_lam, n_b): ∫ f_λ T λ dλ (uniform dλ cancels)
    norm = (trans / lam).sum(axis=1)  # ∫ T c/λ dλ (c cancels)
    z_grid = np.asarray(z_grid, dtype=float)
    att = madau_igm_transmission(lam[None, :], z_grid[:, None]) if igm else 1.0
    rest = lam[None, :] / (1.0 + z_grid[:, None])
    out = np.empty((len(TEMPLATE_NAMES), len(z_grid), len(allb)))
    for it, (_, w, f) in enumerate(load_templates()):
        flam = np.interp(rest, w, f, left=0.0, right=0.0) * att
        fnu = (flam @ weight) / norm
        out[it] = -2.5 * np.log10(np.maximum(fnu, 1e-300))
    iref = allb.index(reference_band)
    colours = out - out[:, :, iref : iref + 1]
    colours = np.clip(colours, -40.0, 40.0)
    return colours[:, :, [allb.index(b) for b in bands]]


class ColourModel:
    """Colours in a continuous SED space, interpolated bilinearly in (t, z).

    The type ``t`` in ``[0, n_templates-1]`` mixes the two adjacent templates linearly
    in colour (as in BPZ's interpolated templates, Benítez 2000); the redshift is
    interpolated linearly on a 0.005 grid from 0 to 3.

    Parameters
    ----------
    bands : sequence of str
        Bands; colours are ``m_b - m_i``.
    igm : bool
        Apply Madau (1995) IGM attenuation.
    """

    def __init__(self, bands: Sequence[str], *, igm: bool = True) -> None:
        self.bands = tuple(bands)
        self.z_grid = _table_z_grid()
        self.table = _cached_colour_table(self.bands, igm)

    def colours(self, t: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Colours ``m_b - m_i`` [mag] for types ``t`` and redshifts ``z`` (shape (n, n_b))."""
        t = np.asarray(t, dtype=float)
        z = np.asarray(z, dtype=float)
        nt, nz, _ = self.table.shape
        tt = np.clip(t, 0.0, nt - 1.0)
        it = np.minimum(tt.astype(np.int64), nt - 2)
        wt = (tt - it)[:, None]
        zz = np.clip(z / _TABLE_DZ, 0.0, nz - 1.0)
        iz = np.minimum(zz.astype(np.int64), nz - 2)
        wz = (zz - iz)[:, None]
        tab = self.table
        c0 = tab[it, iz] * (1.0 - wz) + tab[it, iz + 1] * wz
        c1 = tab[it + 1, iz] * (1.0 - wz) + tab[it + 1, iz + 1] * wz
        return c0 * (1.0 - wt) + c1 * wt


@functools.lru_cache(maxsize=8)
def _cached_colour_table(bands: tuple[str, ...], igm: bool) -> np.ndarray:
    tab = colour_table(bands, _table_z_grid(), igm=igm)
    tab.flags.writeable = False
    return tab


def _table_z_grid() -> np.ndarray:
    """Redshift grid of the colour table: 0 .. TABLE_Z_MAX in steps of 0.005."""
    return np.round(np.arange(0.0, TABLE_Z_MAX + _TABLE_DZ / 2, _TABLE_DZ), 10)
