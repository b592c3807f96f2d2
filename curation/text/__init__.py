"""Text processing used while ingesting: HTML extraction, normalisation, language ID."""
