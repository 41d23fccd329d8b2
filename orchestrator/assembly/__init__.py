"""Assembly: the one place that runs ffmpeg for films. Probe, normalise each clip once, join, verify."""
