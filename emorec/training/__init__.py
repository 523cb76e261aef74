"""Training and its tools: data, batches, checkpoints, devices, FER+, evaluate, calibrate, preview."""
