"""Document deduplication: exact keys, MinHash-LSH near-duplicates, clusters and the keep decision.

Pure functions over one batch of documents (a Spark partition, a pandas UDF batch) plus the
driver-side clustering step; the Spark stage composes them. See each module's docstring.
"""

from curation.dedup.clusters import cluster_map, clusters_from_keys, clusters_from_pairs, keep_flags
from curation.dedup.exact import exact_key, exact_keys, normalize_for_exact
from curation.dedup.minhash import (
    MinHashParams,
    NearDuplicates,
    band_keys,
    candidate_pairs,
    candidate_probability,
    estimated_jaccard,
    lsh_threshold,
    minhash_signatures,
    near_duplicate_clusters,
    shingles,
    signatures_from_shingles,
    verify_pairs,
)

__all__ = [
    "MinHashParams",
    "NearDuplicates",
    "band_keys",
    "candidate_pairs",
    "candidate_probability",
    "cluster_map",
    "clusters_from_keys",
    "clusters_from_pairs",
    "estimated_jaccard",
    "exact_key",
    "exact_keys",
    "keep_flags",
    "lsh_threshold",
    "minhash_signatures",
    "near_duplicate_clusters",
    "normalize_for_exact",
    "shingles",
    "signatures_from_shingles",
    "verify_pairs",
]
