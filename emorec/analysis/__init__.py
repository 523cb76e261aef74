"""Batch analysis of images and videos: the driver, the output writers, and its engines (in-process, Ray)."""
