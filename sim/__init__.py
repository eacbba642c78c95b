"""Agent-based simulation of the illicit fentanyl supply chain, for testing drug-control policy."""

__version__ = "0.1.0"
