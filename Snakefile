# zshard: photometric redshifts and tomographic n(z) over HEALPix shards.
# Table of contents; the rules live in workflow/rules/, the science in src/zshard/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/mock.smk"
include: "workflow/rules/partition.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/tomography.smk"
include: "workflow/rules/fanout.smk"
include: "workflow/rules/validate.smk"
include: "workflow/rules/products.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/verify.smk"


rule all:
    input:
        final_products(),
    default_target: True
