"""End-to-end compositions of curation stages and their YAML configs."""
