"""Seeded, deterministic mock galaxy survey (the workflow's embedded default data).

The mock is built in the following steps, each one documented (with its reference)
in the function that implements it:

1. **Magnitudes** -- the true i-band magnitude ``m0`` follows Euclidean-like number
   counts ``dN/dm ∝ 10**(slope * m)`` between ``m_bright`` and ``m_faint``
   (:func:`zshard.mock.population.draw_reference_magnitudes`).
2. **Type and redshift** -- the broad type (E/S0, Spiral, Irr/SB) and the redshift are
   drawn from the Benítez (2000, ApJ 536, 571; Table 1) HDF-N prior ``p(T|m0)`` and
   ``p(z|T, m0)`` (:func:`zshard.mock.population.hdfn_type_fractions`,
   :func:`zshard.mock.population.draw_hdfn_redshifts`).  The broad type maps to a
   continuous SED index ``t`` over the 8 CWW+Kinney templates of Benítez (2004, ApJS
   150, 1) shipped with ``desc_bpz`` (:func:`zshard.mock.population.draw_sed_types`).
3. **Colours** -- synthetic AB photometry of the redshifted templates through the LSST
   (DC2) filters, with Madau (1995, ApJ 441, 18) IGM attenuation
   (:func:`zshard.mock.seds.colour_table`, :func:`zshard.mock.seds.madau_igm_transmission`);
   colours are interpolated bilinearly in (t, z) (:class:`zshard.mock.seds.ColourModel`).
4. **Photometric errors** -- the LSST error model of Ivezić et al. (2019, ApJ 873, 111;
   eq. 5) plus a systematic floor; observed fluxes are Gaussian in flux, non-detections
   (S/N < 1) carry the SExtractor-style sentinel ``99.0``
   (:func:`zshard.mock.population.observe_magnitudes`).  Only objects with
   S/N >= ``detection_snr`` in the detection band enter the catalogue.
5. **Sky positions** -- a spherical cap footprint pixelised on HEALPix (Górski et al.
   2005, ApJ 622, 759); within redshift shells objects trace a lognormal density field
   (Coles & Jones 1991, MNRAS 248, 1) with a power-law angular spectrum
   ``C_l ∝ (l+1)**-1.2`` (the Fourier counterpart of ``w(θ) ∝ θ**-0.8``, Peebles 1980)
   (:func:`zshard.mock.fields.lognormal_delta_map`, :class:`zshard.mock.fields.SkyModel`).
6. **Derived samples** -- a non-representative spectroscopic training set, a deep
   (COSMOS-like) reference field, a spectroscopic clustering reference
   (:mod:`zshard.mock.selection`) and the truth table
   (:func:`zshard.mock.survey.generate_survey`).

Scaling: the photometric catalogue is produced file by file (one "chunk" per file) and,
inside a file, in batches of at most ``batch_size`` rows; every batch is written out
before the next is drawn, so memory scales with ``batch_size`` and never with
``n_objects`` (the derived samples are the only thing accumulated, each bounded by its cap,
``specz_max_objects``, ``deep_max_objects`` and ``clustering_ref_max_objects``: past it, a
uniform id-hashed subsample of what the selection found, as real samples do not grow with the
photometric catalogue).  Batch ``j``
of file ``k`` uses random streams derived from ``(seed, k, j)`` only
(:mod:`zshard.mock.streams`), so the output is reproducible and independent of
processing order.  The clustering fields are drawn once, from ``seed`` and the shell
index, and shared by all chunks.

Magnitudes in the written files use the ``99.0`` sentinel for non-detections (mag and
magerr), as a real survey release would; ingestion converts it to the canonical NaN.

Submodules (import from them; this package imports nothing, so that the workflow's rules
can read the file layout without loading the simulation):

* :mod:`zshard.mock.config` -- :class:`~zshard.mock.config.MockConfig` and the spec-z campaigns.
* :mod:`zshard.mock.layout` -- the photometric files' names and row counts.
* :mod:`zshard.mock.streams` -- the random streams (one per purpose, file and batch).
* :mod:`zshard.mock.seds` -- SED templates, filters, IGM and the colour model.
* :mod:`zshard.mock.population` -- priors, magnitudes, photometric errors, detection.
* :mod:`zshard.mock.fields` -- footprint, lognormal clustering fields, sky positions.
* :mod:`zshard.mock.selection` -- spec-z campaigns, deep field, clustering reference.
* :mod:`zshard.mock.writers` -- the files' schemas and their (atomic) writers.
* :mod:`zshard.mock.survey` -- :func:`~zshard.mock.survey.generate_survey`, the orchestration.
"""
