import numpy as np
import pytest

from zshard import io


def test_extra_columns_travel_with_the_pdf_table(tmp_path):
    levels = np.array([0.16, 0.5, 0.84])
    q = np.array([[0.1, 0.2, 0.3], [0.5, 0.6, 0.8]], dtype=np.float32)
    extra = {"z_phot": np.array([0.21, 0.58]), "in_coverage": np.array([True, False]),
             "coverage_weight": np.array([1.0, 0.0], dtype=np.float32)}
    path = str(tmp_path / "p.parquet")
    io.write_pdf_table(path, np.array([7, 9]), q, levels, 0.0, 3.0, extra_columns=extra)
    table = io.read_pdf_table(path)
    carried = table.extra_columns()
    assert list(carried) == ["z_phot", "in_coverage", "coverage_weight"]
    np.testing.assert_allclose(carried["z_phot"], [0.21, 0.58], rtol=1e-6)
    assert carried["in_coverage"].tolist() == [True, False]
    assert "z_median" in table.summaries and "z_median" not in carried
    io.write_pdf_table(path, table.ids, table.quantiles, levels, 0.0, 3.0, extra_columns=carried)
    assert io.read_pdf_table(path).extra_columns()["in_coverage"].tolist() == [True, False]
    with pytest.raises(ValueError, match="overwrite"):
        io.write_pdf_table(path, np.array([7, 9]), q, levels, 0.0, 3.0, extra_columns={"z_median": np.zeros(2)})
    with pytest.raises(ValueError, match="rows"):
        io.write_pdf_table(path, np.array([7, 9]), q, levels, 0.0, 3.0, extra_columns={"x": np.zeros(3)})
