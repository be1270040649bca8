"""Rule partition_reduce: one HATS shard from the sorted rows of the files that touch it.

A shell job (see PARTITION_JOB_NOTE in workflow/rules/common.smk); it also runs by hand, e.g.
python scripts/partition_reduce.py --order 3 --pixel 301 --compression snappy --close-pair-arcsec 0.5 \
    --shard Npix=301.parquet --record reduce/Npix=301 split/cat1 split/cat2
"""
import argparse

from zshard.io.nopandas import without_pandas
from zshard.partition import reduce_shard
from zshard.sky import Shard

without_pandas()  # pyarrow would import it: 0.4 CPU-s per job

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--order", type=int, required=True)
parser.add_argument("--pixel", type=int, required=True)
parser.add_argument("--compression", required=True, help="Parquet compression of the shard (partition.compression)")
parser.add_argument("--shard", required=True, help="the shard's Parquet file")
parser.add_argument("--record", required=True,
                    help="directory for its row counts, rejected rows (duplicate ids) and sorted ids")
parser.add_argument("--close-pair-arcsec", type=float, required=True,
                    help="report rows with different ids closer than this (partition.close_pair_arcsec; 0: off)")
parser.add_argument("--rows", nargs="+",
                    help="their sorted rows, in the order of the splits (default: rows.arrow in each split)")
parser.add_argument("splits", nargs="+", help="the split directories of the files that touch the shard")
args = parser.parse_args()

print(reduce_shard(Shard(args.order, args.pixel), args.splits, args.shard, args.record, args.compression, args.rows,
                   close_pair_arcsec=args.close_pair_arcsec))
