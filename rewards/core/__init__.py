"""Reward infrastructure: base class and registry, parameters, statistics, shared resources, reward sets."""
