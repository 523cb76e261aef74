"""The recognition core: preprocessing, detection, tracking, the classifier runtime, the recognizer, drawing,
frame sources and the output files."""
