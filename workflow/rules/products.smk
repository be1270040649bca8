# What a cosmological analysis takes away (zshard.tomography.products): the n(z) with each bin's Δz
# prior and an ensemble of n(z) realisations in one SACC file, CosmoSIS values/priors snippets for the
# shift parameters and, optionally, the n(z) shifted by the combined Δz. After the n(z) reduce and the
# Δz combination; reduce_nz's own files stay as they are.

PRODUCTS = config["nz_products"]
DELTA_Z_TABLE = DEEP_REFERENCE or CLUSTERING


rule nz_products:
    input:
        partials=per_shard(f"{R}/tomography/partials/{{shard}}.npz"),
        nz=f"{R}/nz/nz.json",
        table=[f"{R}/validation/delta_z_table.json"] if DELTA_Z_TABLE else [],
    output:
        sacc=f"{R}/nz/nz_products.sacc.fits",
        summary=f"{R}/nz/nz_products.json",
        values=f"{R}/nz/cosmosis_values.ini",
        priors=f"{R}/nz/cosmosis_priors.ini",
        shifted=[f"{R}/nz/nz_shifted.fits", f"{R}/nz/nz_shifted.txt"] if PRODUCTS["shifted_nz"] else [],
    params:
        products=PRODUCTS,
        seed=SEED,
    log:
        log_of("nz_products"),
    benchmark:
        benchmark_of("nz_products")
    threads: 1
    resources:
        mem_mb=job_resource("nz_products", "mem_mb"),
        runtime=job_resource("nz_products", "runtime"),
    conda:
        "../../envs/zshard.yaml"
    script:
        "../../scripts/nz_products.py"
