"""Tools that put the study's outputs to work: benchmarks (bench), checking a rerun against
reported/ (verify), cluster messages, the TeX check and build, recommendations for one
user and what a run was (show).
"""
