"""Calibration file formats: EasyMocap YAML, anipose/Pose2Sim TOML, Qualisys ``.qca.txt``."""
