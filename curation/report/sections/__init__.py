"""One module per report section. Each returns a Section, or None when the pipeline has no stage it covers."""
