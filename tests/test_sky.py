import healpy as hp
import numpy as np
import pytest

from zshard import sky


def test_radec_to_healpix_matches_healpy():
    rng = np.random.default_rng(1)
    ra, dec = rng.uniform(0, 360, 1000), np.degrees(np.arcsin(rng.uniform(-1, 1, 1000)))
    for order in (3, 10):
        assert np.array_equal(sky.radec_to_healpix(ra, dec, order), hp.ang2pix(1 << order, ra, dec, nest=True,
                                                                                lonlat=True))


def test_shard_key_and_hats_path_round_trip():
    shard = sky.Shard(5, 12345)
    assert sky.Shard.from_key(shard.key) == shard
    assert shard.hats_path() == "dataset/Norder=5/Dir=10000/Npix=12345.parquet"
    with pytest.raises(ValueError):
        sky.Shard.from_key("nonsense")


def test_plan_merges_sparse_pixels_and_splits_dense_ones():
    order = 2
    hist = np.zeros(12 * 4**order, dtype=np.int64)
    hist[0:4] = [10, 10, 10, 10]      # 40 rows and empty siblings: merge all the way to order 0 pixel 0
    hist[16:20] = [30, 30, 30, 30]    # parent would hold 120 > 50: stays at order 2
    hist[20] = 45                      # its order-1 sibling fits alone, but the order-0 parent does not
    hist[47] = 5                       # alone in its order-0 parent with others empty
    shards = dict((s, n) for s, n in sky.plan_partitions(hist, order, max_rows=50, lowest_order=0))
    assert shards[sky.Shard(0, 0)] == 40
    for p in range(16, 20):
        assert shards[sky.Shard(2, p)] == 30
    assert shards[sky.Shard(1, 5)] == 45
    assert shards[sky.Shard(0, 2)] == 5  # pixel 47 at order 2 is inside order-0 pixel 2
    assert sum(shards.values()) == hist.sum()


def test_plan_keeps_an_oversized_pixel_at_the_finest_order():
    hist = np.zeros(48, dtype=np.int64)
    hist[5] = 1000
    [(shard, rows)] = sky.plan_partitions(hist, 1, max_rows=10, lowest_order=0)
    assert shard == sky.Shard(1, 5) and rows == 1000


def test_every_object_lands_in_exactly_one_shard():
    rng = np.random.default_rng(3)
    ra = np.concatenate([rng.uniform(0, 360, 5000), rng.normal(150, 1, 20000) % 360])
    dec = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, 5000))), np.clip(rng.normal(2, 1, 20000), -90, 90)])
    order = 7
    fine = sky.radec_to_healpix(ra, dec, order)
    hist = np.bincount(fine, minlength=12 * 4**order)
    plan = sky.plan_partitions(hist, order, max_rows=2000, lowest_order=0)
    shards = [s for s, _ in plan]
    index = sky.assign_shards(fine, shards, order)
    assert (index >= 0).all()
    counts = np.bincount(index, minlength=len(shards))
    assert np.array_equal(counts, [n for _, n in plan])
    assert max(n for _, n in plan) <= 2000
