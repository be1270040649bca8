import numpy as np
import pytest

from zshard.io import pdf_table


def test_extra_columns_travel_with_the_pdf_table(tmp_path):
    levels = np.array([0.16, 0.5, 0.84])
    q = np.array([[0.1, 0.2, 0.3], [0.5, 0.6, 0.8]], dtype=np.float32)
    extra = {"z_phot": np.array([0.21, 0.58]), "in_coverage": np.array([True, False]),
             "coverage_weight": np.array([1.0, 0.0], dtype=np.float32)}
    path = str(tmp_path / "p.parquet")
    pdf_table.write_pdf_table(path, np.array([7, 9]), q, levels, 0.0, 3.0, extra_columns=extra)
    table = pdf_table.read_pdf_table(path)
    carried = table.extra_columns()
    assert list(carried) == ["z_phot", "in_coverage", "coverage_weight"]
    np.testing.assert_allclose(carried["z_phot"], [0.21, 0.58], rtol=1e-6)
    assert carried["in_coverage"].tolist() == [True, False]
    assert "z_median" in table.summaries and "z_median" not in carried
    pdf_table.write_pdf_table(path, table.ids, table.quantiles, levels, 0.0, 3.0, extra_columns=carried)
    assert pdf_table.read_pdf_table(path).extra_columns()["in_coverage"].tolist() == [True, False]
    with pytest.raises(ValueError, match="overwrite"):
        pdf_table.write_pdf_table(path, np.array([7, 9]), q, levels, 0.0, 3.0, extra_columns={"z_median": np.zeros(2)})
    with pytest.raises(ValueError, match="rows"):
        pdf_table.write_pdf_table(path, np.array([7, 9]), q, levels, 0.0, 3.0, extra_columns={"x": np.zeros(3)})


@pytest.mark.parametrize("encoding", ["uint16", "float32"])
def test_the_written_table_is_returned_as_it_reads_back(tmp_path, encoding):
    """rule fanout_shard bins on what write_pdf_table returns: it must be what a reader gets."""
    rng = np.random.default_rng(5)
    levels = np.linspace(0.05, 0.95, 7)
    q = np.sort(rng.uniform(0.0, 3.0, (500, 7)), axis=1).astype(np.float32)
    q[3] = np.nan
    extra = {"z_phot": rng.uniform(0, 3, 500), "in_coverage": rng.uniform(size=500) < 0.5}
    path = str(tmp_path / "p.parquet")
    written = pdf_table.write_pdf_table(path, np.arange(500) * 3, q, levels, 0.0, 3.0, metadata={"model_version": "x"},
                                        extra_columns=extra, encoding=encoding)
    read = pdf_table.read_pdf_table(path)
    np.testing.assert_array_equal(written.ids, read.ids)
    np.testing.assert_array_equal(written.quantiles, read.quantiles)
    np.testing.assert_array_equal(written.levels, read.levels)
    assert (written.z_min, written.z_max) == (read.z_min, read.z_max)
    assert list(written.summaries.columns) == list(read.summaries.columns)
    for name in read.summaries.columns:
        assert written.summaries[name].dtype == read.summaries[name].dtype, name
        np.testing.assert_array_equal(written.summaries[name].to_numpy(), read.summaries[name].to_numpy())
    assert written.metadata == read.metadata


def test_uint16_quantiles_round_trip_within_half_a_step(tmp_path):
    rng = np.random.default_rng(3)
    levels = np.linspace(0.01, 0.99, 19)
    centre = rng.uniform(0.05, 2.9, 500)
    q = np.sort(centre[:, None] + rng.normal(0, 0.05, (500, 19)), axis=1)
    from zshard.pdf.representation import sanitize_quantiles

    q = sanitize_quantiles(q, 0.0, 3.0).astype(np.float32)
    q[7] = np.nan
    path = str(tmp_path / "p.parquet")
    pdf_table.write_pdf_table(path, np.arange(500), q, levels, 0.0, 3.0)
    back = pdf_table.read_pdf_table(path)
    ok = np.isfinite(q).all(axis=1)
    assert np.isnan(back.quantiles[7]).all() and np.isfinite(back.quantiles[ok]).all()
    step = 3.0 / pdf_table.QUANTILE_CODE_MAX
    assert np.abs(back.quantiles[ok] - q[ok]).max() <= 0.5 * step + 1e-6
    assert np.all(np.diff(back.quantiles[ok], axis=1) > 0)   # sanitised spacing (1e-4) survives the rounding
    assert back.metadata["zshard.quantile_encoding"] == "uint16"
    # the quantile column costs 2 bytes per level (before compression)
    import pyarrow.parquet as pq

    column = pq.read_table(path).column(pdf_table.PDF_COLUMN)
    assert column.type.value_type == "uint16" and column.nbytes <= 500 * 19 * 2 + 500
    # float32 still readable
    pdf_table.write_pdf_table(path, np.arange(500), q, levels, 0.0, 3.0, encoding="float32")
    np.testing.assert_array_equal(pdf_table.read_pdf_table(path).quantiles[ok], q[ok])
    with pytest.raises(ValueError, match="encoding"):
        pdf_table.write_pdf_table(path, np.arange(500), q, levels, 0.0, 3.0, encoding="float8")


def test_pdfs_convert_to_a_qp_ensemble_with_the_same_cdf():
    qp = pytest.importorskip("qp", reason="qp-prob is a test extra (make install puts it in .venv)")
    from zshard.pdf.binned import bin_probabilities
    from zshard.pdf.distribution import cdf, ppf
    from zshard.pdf.qp_export import to_qp
    from zshard.pdf.representation import sanitize_quantiles

    rng = np.random.default_rng(5)
    levels = np.array([0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999])
    centre = rng.uniform(0.2, 2.5, 50)
    q = sanitize_quantiles(centre[:, None] + rng.normal(0, 0.1, (50, 1)) * np.linspace(-3, 3, 9), 0.0, 3.0)
    ensemble = to_qp(q, levels, 0.0, 3.0)
    assert isinstance(ensemble.gen_obj, qp.hist_gen) and ensemble.npdf == 50
    z = np.linspace(0.0, 3.0, 301)                  # on grid edges: the same CDF
    np.testing.assert_allclose(ensemble.cdf(z), cdf(q, levels, z, 0.0, 3.0, grid=True), atol=1e-6)
    z_between = z[:-1] + 0.00037                    # between edges: within the mass of one 0.001 bin
    largest_bin = bin_probabilities(q, levels, np.linspace(0.0, 3.0, 3001), 0.0, 3.0).max(axis=1)
    difference = np.abs(ensemble.cdf(z_between) - cdf(q, levels, z_between, 0.0, 3.0, grid=True))
    assert np.all(difference <= largest_bin[:, None] + 1e-9)
    np.testing.assert_allclose(ensemble.ppf(np.array([0.5]))[:, 0], ppf(q, levels, [0.5], 0.0, 3.0)[:, 0],
                               atol=2e-3)
    compact = to_qp(q, levels, 0.0, 3.0, representation="quant")
    assert isinstance(compact.gen_obj, qp.quant_gen)
    np.testing.assert_allclose(np.array([compact[i].ppf(levels).ravel() for i in range(3)]), q[:3], atol=1e-6)
    with pytest.raises(ValueError, match="no valid PDF"):
        to_qp(np.vstack([q[:2], np.full((1, 9), np.nan)]), levels)
