"""Proxy-model validation: does a curated set train better models than its baselines at equal tokens?"""
