"""Rule partition_split: one input file read once; its valid rows sorted by _healpix_29, its histogram.

A shell job (see PARTITION_JOB_NOTE in workflow/rules/common.smk); it also runs by hand, e.g.
python scripts/partition_split.py --input cat.parquet --file-id cat --reader '{"sentinels": [99]}' \
    --bands g r i --histogram-order 8 --chunk-rows 500000 --ra-outside-range reject --output split/cat
"""
import argparse
import json

from zshard.io.catalogs import CatalogSpec
from zshard.io.nopandas import without_pandas
from zshard.partition import split_file

without_pandas()  # pyarrow would import it: 0.4 CPU-s per job

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--input", required=True, help="the input catalogue file")
parser.add_argument("--file-id", required=True, help="its name in the plan and the manifest")
parser.add_argument("--reader", required=True, help="JSON: how to read it (columns, sentinels, subset, ...)")
parser.add_argument("--bands", nargs="+", required=True)
parser.add_argument("--histogram-order", type=int, required=True)
parser.add_argument("--chunk-rows", type=int, required=True)
parser.add_argument("--output", required=True, help="the split directory (written atomically)")
parser.add_argument("--ra-outside-range", choices=["reject", "wrap"], required=True,
                    help="a right ascension outside [0, 360): reject the row, or wrap it (partition.ra_outside_range)")
parser.add_argument("--rows", help="the file of its sorted rows (default: rows.arrow in the split directory)")
args = parser.parse_args()

spec = CatalogSpec.from_config(json.loads(args.reader), args.bands)
print(split_file(args.input, args.file_id, spec, args.histogram_order, args.output, args.chunk_rows, args.rows,
                 ra_outside_range=args.ra_outside_range))
